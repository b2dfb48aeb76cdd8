import type { Logger } from '../log.ts';
import { feedAgeSeconds } from '../store/feed-age.ts';
import type { FeedType } from '../feed/feed-types.ts';
import type { ImportRunSummary, Store } from '../store/types.ts';

export interface ExpiredFeed {
  feed: FeedType;
  feedDate: string | null;
  deleted: number;
}

const DAY_SECONDS = 86_400;

/**
 * Removes the data of every feed whose data is older than `maxAgeDays` (a feed Spur stopped
 * refreshing, or one dropped from the configuration), so stale reputation is never served
 * silently. It is an import of nothing: one transaction under the import lock, recorded as
 * a run whose `error` column says why the data went.
 */
export async function expireStaleFeeds(store: Store, maxAgeDays: number, logger: Logger, now = new Date()): Promise<ExpiredFeed[]> {
  const expired: ExpiredFeed[] = [];
  for (const { feed, lastImport } of await store.feedStatus()) {
    if (!lastImport || lastImport.records === 0) continue;
    const ageDays = feedAgeSeconds(lastImport, now) / DAY_SECONDS;
    if (ageDays <= maxAgeDays) continue;
    const startedAt = new Date();
    const tx = await store.beginImport(feed);
    const run: ImportRunSummary = {
      feed,
      feedDate: lastImport.feedDate,
      file: null,
      startedAt,
      finishedAt: startedAt,
      linesRead: 0,
      skipped: 0,
      inserted: 0,
      updated: 0,
      deleted: 0,
      records: 0,
      status: 'succeeded',
      error: `expired: data ${ageDays.toFixed(1)} days old, more than IPOID_MAX_FEED_AGE_DAYS=${maxAgeDays}`,
      skippedSample: [],
    };
    try {
      run.deleted = await tx.deleteUnseen();
      run.finishedAt = new Date();
      await tx.commit(run);
    } catch (err) {
      await tx.rollback({ ...run, status: 'failed', deleted: 0, records: lastImport.records, error: (err as Error).message });
      throw err;
    }
    logger.warn({ feed, feedDate: lastImport.feedDate, deleted: run.deleted, maxAgeDays }, 'feed data expired');
    expired.push({ feed, feedDate: lastImport.feedDate, deleted: run.deleted });
  }
  return expired;
}
