import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { isRetryable } from './errors.ts';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Delay before the first retry; it doubles on each further one, up to maxDelayMs. */
  delayMs: number;
  maxDelayMs: number;
}

/**
 * Runs `action` until it succeeds, fails with an error that is not worth retrying, or has
 * used every attempt. Delays back off exponentially with jitter, so many jobs hitting the
 * same outage do not retry in step.
 */
export async function withRetries<T>(what: string, policy: RetryPolicy, logger: Logger, action: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (err) {
      if (attempt >= policy.attempts || !isRetryable(err)) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      logger.warn({ attempt, attempts: policy.attempts, delayMs, error: (err as Error).message }, `${what} failed; retrying`);
      await sleep(delayMs);
    }
  }
}
