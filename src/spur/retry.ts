import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { isDiskError, SpurAuthError, SpurHttpError } from './errors.ts';

/** Everything that decides whether and when a Spur request is tried again, in one object. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Delay before the first retry; it doubles on each further one (with jitter), up to maxDelayMs. */
  delayMs: number;
  maxDelayMs: number;
  /** HTTP statuses worth another try; any other status is final. */
  retryStatuses: ReadonlySet<number>;
  /** A Retry-After the server sends is waited for instead of the backoff, up to this long; a longer one fails at once. */
  maxRetryAfterMs: number;
}

const SERVER_ERRORS = Array.from({ length: 100 }, (_, i) => 500 + i);

/** Spur's policy: timeouts, rate limits and server errors pass; a refused token or a full disk will not. */
export function spurRetryPolicy(attempts: number, delayMs: number): RetryPolicy {
  return {
    attempts,
    delayMs,
    maxDelayMs: 60_000,
    retryStatuses: new Set([408, 429, ...SERVER_ERRORS]),
    // The daily job may wait a few minutes for a busy server, not for hours.
    maxRetryAfterMs: 10 * 60_000,
  };
}

/**
 * Network errors, timeouts, cut or incomplete downloads and the policy's statuses may pass
 * on a later try; a refused token, any other HTTP status, or a full or unwritable disk will not.
 */
function isRetryable(err: unknown, policy: RetryPolicy): boolean {
  if (err instanceof SpurAuthError || isDiskError(err)) return false;
  if (err instanceof SpurHttpError) return policy.retryStatuses.has(err.status);
  return true;
}

/** The policy's backoff before retry `attempt` (1 for the first retry), with jitter so many jobs do not retry in step. */
function backoffMs(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * Runs `action` until it succeeds, fails with an error that is not worth retrying, or has
 * used every attempt. Waits as long as the server's Retry-After asks, else backs off
 * exponentially.
 */
export async function withRetries<T>(what: string, policy: RetryPolicy, logger: Logger, action: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (err) {
      if (attempt >= policy.attempts || !isRetryable(err, policy)) throw err;
      const retryAfterMs = err instanceof SpurHttpError ? err.retryAfterMs : undefined;
      if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) {
        throw new SpurHttpError(
          `${(err as Error).message}, asking to retry after ${Math.round(retryAfterMs / 1000)} s, longer than the ${policy.maxRetryAfterMs / 1000} s this job waits`,
          (err as SpurHttpError).status,
        );
      }
      const delayMs = retryAfterMs ?? backoffMs(policy, attempt);
      logger.warn(
        { attempt, attempts: policy.attempts, delayMs, retryAfter: retryAfterMs !== undefined, error: (err as Error).message },
        `${what} failed; retrying`,
      );
      await sleep(delayMs);
    }
  }
}

/** Retry-After in milliseconds from now: delay-seconds or an HTTP-date (RFC 9110, 10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
