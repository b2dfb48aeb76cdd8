import type { FeedStatus, ImportRun } from './types.ts';

const secondsSince = (since: number, now: Date): number => Math.max(0, Math.floor((now.getTime() - since) / 1000));

/**
 * How old a feed's data is: from its newest realtime slot merged since its full file, else
 * from the day Spur generated that file (midnight UTC) when the run knows that date, else
 * from when the run finished. The update job expires data by this age, and the API reports
 * it and can refuse readiness on it: one definition for all.
 */
export function feedAgeSeconds(
  { lastImport: run, lastRealtime }: Pick<FeedStatus, 'lastImport' | 'lastRealtime'>,
  now = new Date(),
): number {
  if (lastRealtime?.slot) return secondsSince(lastRealtime.slot.getTime(), now);
  if (!run) return 0;
  return secondsSince(run.feedDate ? Date.parse(`${run.feedDate}T00:00:00Z`) : run.finishedAt.getTime(), now);
}

/** Seconds from the newest realtime slot merged since the feed's full file to now; null when none was. */
export function realtimeLagSeconds({ lastRealtime }: Pick<FeedStatus, 'lastRealtime'>, now = new Date()): number | null {
  return lastRealtime?.slot ? secondsSince(lastRealtime.slot.getTime(), now) : null;
}

/** Records the feed holds: as its newest run (a realtime slot or the full import) left them. */
export const feedRecords = ({ lastImport, lastRealtime }: Pick<FeedStatus, 'lastImport' | 'lastRealtime'>): number =>
  (lastRealtime ?? lastImport)?.records ?? 0;

/** The runs whose data the store serves for the feed: its full import and its newest realtime slot since. */
export const servedRuns = ({ lastImport, lastRealtime }: Pick<FeedStatus, 'lastImport' | 'lastRealtime'>): ImportRun[] =>
  [lastImport, lastRealtime].filter((run) => run !== null);

/** A feed's data as /_info and `ipoid imports --feeds` describe it: its full file, its freshness, its newest realtime slot. */
export function feedSummary(status: FeedStatus, now = new Date()) {
  const { feed, lastImport: run, lastRealtime: slot, lastRefused: refused } = status;
  return {
    feed,
    feedDate: run?.feedDate ?? null,
    ageSeconds: run ? feedAgeSeconds(status, now) : null,
    records: feedRecords(status),
    lastImport: run && {
      finishedAt: run.finishedAt.toISOString(),
      inserted: run.inserted,
      updated: run.updated,
      deleted: run.deleted,
      records: run.records,
    },
    realtime: slot?.slot
      ? {
          slot: slot.slot.toISOString(),
          lagSeconds: secondsSince(slot.slot.getTime(), now),
          finishedAt: slot.finishedAt.toISOString(),
          created: slot.inserted,
          merged: slot.updated,
        }
      : null,
    refused: refused && {
      startedAt: refused.startedAt.toISOString(),
      feedDate: refused.feedDate,
      inserted: refused.inserted,
      updated: refused.updated,
      deleted: refused.deleted,
      error: refused.error ?? '',
    },
  };
}
