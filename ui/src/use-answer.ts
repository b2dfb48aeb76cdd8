import { useEffect, useState } from 'preact/hooks';

export type Answer<T> = { state: 'loading' } | { state: 'done'; value: T } | { state: 'failed'; error: unknown };

/**
 * The answer of `load`, asked again whenever a key changes; a late answer to an older key is
 * dropped, and an answer is shown only for the keys it was asked for (never the last page's
 * answer under the next page's heading while the next one loads).
 */
export function useAnswer<T>(load: () => Promise<T>, keys: unknown[]): Answer<T> {
  const asked = JSON.stringify(keys);
  const [answer, setAnswer] = useState<{ for: string; answer: Answer<T> } | null>(null);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && setAnswer({ for: asked, answer: { state: 'done', value } }),
      (error: unknown) => current && setAnswer({ for: asked, answer: { state: 'failed', error } }),
    );
    return () => {
      current = false;
    };
  }, [asked]);
  return answer?.for === asked ? answer.answer : { state: 'loading' };
}
