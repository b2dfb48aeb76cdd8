/**
 * `read` memoized for `ttlMs`; concurrent callers share one call, and a failure is not kept
 * (the next caller tries again).
 */
export function cached<T>(read: () => Promise<T>, ttlMs: number): () => Promise<T> {
  let value: Promise<T> | undefined;
  let expires = 0;
  return () => {
    if (value && Date.now() < expires) return value;
    expires = Date.now() + ttlMs;
    const current = read();
    value = current;
    current.catch(() => {
      if (value === current) value = undefined;
    });
    return current;
  };
}

/**
 * `read` memoized for as long as `version()` answers the same: for results that change only
 * when something else (an import) does, and cost too much to compute per request.
 */
export function cachedPerVersion<T>(version: () => Promise<string>, read: () => Promise<T>): () => Promise<T> {
  let current: { version: string; value: Promise<T> } | undefined;
  return async () => {
    const now = await version();
    if (current?.version !== now) {
      const value = read();
      const entry = { version: now, value };
      current = entry;
      value.catch(() => {
        if (current === entry) current = undefined;
      });
    }
    return current.value;
  };
}

/**
 * `cachedPerVersion` for a read that takes an argument (a day, a query): the reads of the last
 * `size` distinct arguments asked (told apart by `keyOf`) are kept, each until the version changes.
 */
export function keyedPerVersion<A, T>(
  version: () => Promise<string>,
  read: (argument: A) => Promise<T>,
  keyOf: (argument: A) => string | number,
  size: number,
): (argument: A) => Promise<T> {
  const reads = new Map<string | number, () => Promise<T>>();
  return (argument) => {
    const key = keyOf(argument);
    let cachedRead = reads.get(key);
    if (!cachedRead) {
      if (reads.size >= size) reads.clear();
      cachedRead = cachedPerVersion(version, () => read(argument));
      reads.set(key, cachedRead);
    }
    return cachedRead();
  };
}
