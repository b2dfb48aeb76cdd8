import { dateOfDay, feedDay } from '../history/feed-day.ts';
import type { FeedStatus, ImportRun, Store } from './types.ts';

const secondsSince = (since: number, now: Date): number => Math.max(0, Math.floor((now.getTime() - since) / 1000));

/** The newest realtime slot merged since the feed's full import: its records are the ones served. */
export const realtimeSinceFull = ({ lastImport, lastRealtime }: Pick<FeedStatus, 'lastImport' | 'lastRealtime'>): ImportRun | null =>
  lastRealtime && lastImport && lastRealtime.id > lastImport.id ? lastRealtime : null;

/**
 * How old a feed's data is: from its newest realtime slot merged since its full file, else
 * from the day Spur generated that file (midnight UTC) when the run knows that date, else
 * from when the run finished. The update job expires data by this age, and the API reports
 * it and can refuse readiness on it: one definition for all. (A new full file makes the data
 * as old as its date until the follower has merged the day's slots again.)
 */
export function feedAgeSeconds(status: Pick<FeedStatus, 'lastImport' | 'lastRealtime'>, now = new Date()): number {
  const slot = realtimeSinceFull(status)?.slot;
  if (slot) return secondsSince(slot.getTime(), now);
  const run = status.lastImport;
  if (!run) return 0;
  return secondsSince(run.feedDate ? Date.parse(`${run.feedDate}T00:00:00Z`) : run.finishedAt.getTime(), now);
}

/**
 * Now minus the newest realtime slot ever merged; null for a feed that never had one. It
 * says whether realtime files keep coming, so a new full file does not reset it: a follower
 * that stops after one keeps the lag growing, for an alert to see.
 */
export function realtimeLagSeconds({ lastRealtime }: Pick<FeedStatus, 'lastRealtime'>, now = new Date()): number | null {
  return lastRealtime?.slot ? secondsSince(lastRealtime.slot.getTime(), now) : null;
}

/** The feed's newest run whose data is served: a realtime slot since the full import, or that import. */
export const newestServedRun = (status: Pick<FeedStatus, 'lastImport' | 'lastRealtime'>): ImportRun | null =>
  realtimeSinceFull(status) ?? status.lastImport;

/** Records the feed holds: as its newest served run left them. */
export const feedRecords = (status: Pick<FeedStatus, 'lastImport' | 'lastRealtime'>): number => newestServedRun(status)?.records ?? 0;

/** The runs that make the data served: the feed's full import and the newest realtime slot since. */
export const servedRuns = (status: Pick<FeedStatus, 'lastImport' | 'lastRealtime'>): ImportRun[] =>
  [status.lastImport, realtimeSinceFull(status)].filter((run) => run !== null);

/** What the stored data is, as of the feeds' latest successful imports and realtime slots. */
export interface DataVersion {
  /** Changes with every import and realtime slot: the runs whose data is served. */
  tag: string;
  /** When the newest of those imports finished; null before any. */
  lastModified: Date | null;
  /** The newest feed date of those imports (YYYY-MM-DD); null before any. */
  feedDate: string | null;
}

export function dataVersionOf(statuses: readonly FeedStatus[]): DataVersion {
  const imports = statuses.flatMap(servedRuns);
  const newest = (dates: number[]) => (dates.length ? Math.max(...dates) : null);
  const finished = newest(imports.map((run) => run.finishedAt.getTime()));
  // The feed files' date: a realtime slot after midnight does not make a file of the new day.
  const day = newest(statuses.flatMap((s) => (s.lastImport ? [feedDay(s.lastImport.dataDate)] : [])));
  return {
    tag: imports.map((run) => run.id).join('.') || '0',
    lastModified: finished === null ? null : new Date(finished),
    feedDate: day === null ? null : dateOfDay(day),
  };
}

/** The stored data's version tag, read now: what caches of results that only an import changes are kept by. */
export const storedVersionTag = async (store: Pick<Store, 'feedStatus'>): Promise<string> => dataVersionOf(await store.feedStatus()).tag;

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
          sinceFullFile: slot === realtimeSinceFull(status),
          lagSeconds: realtimeLagSeconds(status, now)!,
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
