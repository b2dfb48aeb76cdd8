import { useEffect, useState } from 'preact/hooks';

export type Answer<T> = { state: 'loading' } | { state: 'done'; value: T } | { state: 'failed'; error: unknown };

/** The answer of `load`, asked again whenever a key changes; a late answer to an older key is dropped. */
export function useAnswer<T>(load: () => Promise<T>, keys: unknown[]): Answer<T> {
  const [answer, setAnswer] = useState<Answer<T>>({ state: 'loading' });
  useEffect(() => {
    let current = true;
    setAnswer({ state: 'loading' });
    load().then(
      (value) => current && setAnswer({ state: 'done', value }),
      (error: unknown) => current && setAnswer({ state: 'failed', error }),
    );
    return () => {
      current = false;
    };
  }, keys);
  return answer;
}
