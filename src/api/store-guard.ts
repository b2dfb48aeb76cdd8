import { InvalidCursorError } from '../store/cursor.ts';
import type { Store } from '../store/types.ts';

/** The database failed; the cause stays in the logs, never in an answer. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super('database unavailable', { cause });
  }
}

/**
 * The store as the routes use it: any failure but a bad cursor (the client's mistake)
 * becomes StoreUnavailableError, which answers 503 without the driver's message.
 */
export function guardStore(store: Store): Store {
  const guard =
    <A extends unknown[], R>(method: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await method.apply(store, args);
      } catch (err) {
        throw err instanceof InvalidCursorError ? err : new StoreUnavailableError(err);
      }
    };
  return {
    kind: store.kind,
    lookup: guard(store.lookup),
    lookupMany: guard(store.lookupMany),
    list: guard(store.list),
    labelCounts: guard(store.labelCounts),
    importRuns: guard(store.importRuns),
    feedStatus: guard(store.feedStatus),
    beginImport: guard(store.beginImport),
    close: () => store.close(),
  };
}
