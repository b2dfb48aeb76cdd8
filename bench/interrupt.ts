/*
 * Clean-up when a benchmark is interrupted (Ctrl-C, kill): a `finally` never runs then, and
 * what it would remove, private servers and their gigabytes of data, would stay behind.
 */
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * On the first of these signals, runs `cleanUp` and exits as killed by it. Later signals are
 * ignored meanwhile: Ctrl-C reaches tsx and this process both, and tsx passes it on once more.
 * Answers a function that takes the handlers away again.
 */
export function onInterrupt(cleanUp: () => Promise<void>): () => void {
  let cleaning = false;
  const handler = (signal: (typeof SIGNALS)[number]) => {
    if (cleaning) return;
    cleaning = true;
    console.error(`\n${signal}: cleaning up`);
    cleanUp()
      .catch((err: unknown) => console.error('clean-up failed:', err))
      .finally(() => process.exit(128 + constants.signals[signal]));
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of SIGNALS) process.off(signal, handler);
  };
}
