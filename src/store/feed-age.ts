import type { ImportRun } from './types.ts';

/**
 * How old a feed's data is: from the day Spur generated it (midnight UTC) when the run knows
 * that date, else from when the run finished. The update job expires data by this age, and
 * the API reports it and can refuse readiness on it: one definition for both.
 */
export function feedAgeSeconds(run: ImportRun, now: Date = new Date()): number {
  const since = run.feedDate ? Date.parse(`${run.feedDate}T00:00:00Z`) : run.finishedAt.getTime();
  return Math.max(0, Math.floor((now.getTime() - since) / 1000));
}
