import type { Logger } from '../log.ts';
import { feedAgeSeconds, feedRecords } from '../store/feed-status.ts';
import type { FeedType } from '../feed/feed-types.ts';
import { ImportRunRecord } from '../import/import-run.ts';
import type { Store } from '../store/types.ts';
import { utcDate } from '../history/feed-day.ts';

export interface ExpiredFeed {
  feed: FeedType;
  feedDate: string | null;
  deleted: number;
}

const DAY_SECONDS = 86_400;

/**
 * Removes the data of every feed whose data is older than `maxAgeDays` (a feed Spur stopped
 * refreshing, or one dropped from the configuration), so stale reputation is never served
 * silently. It is an import of nothing: one transaction under the import lock, recorded like
 * any import's run (ImportRunRecord), its `error` column saying why the data went.
 */
export async function expireStaleFeeds(store: Store, maxAgeDays: number, logger: Logger, now = new Date()): Promise<ExpiredFeed[]> {
  const expired: ExpiredFeed[] = [];
  for (const status of await store.feedStatus()) {
    const { feed, lastImport } = status;
    if (!lastImport || feedRecords(status) === 0) continue;
    // Realtime slots keep a feed fresh between its full files.
    const ageDays = feedAgeSeconds(status, now) / DAY_SECONDS;
    if (ageDays <= maxAgeDays) continue;
    const tx = await store.beginImport(feed);
    const run = new ImportRunRecord(feed, lastImport.feedDate, null, logger);
    run.storedBefore = feedRecords(status);
    run.dataDate = utcDate(now); // the data went today, not on the stale feed's day
    try {
      run.counts.deleted = await tx.deleteUnseen();
      await tx.commit(
        run.summary('succeeded', `expired: data ${ageDays.toFixed(1)} days old, more than IPOID_MAX_FEED_AGE_DAYS=${maxAgeDays}`),
      );
    } catch (err) {
      await tx.rollback(run.summary('failed', (err as Error).message));
      throw err;
    }
    const { deleted } = run.counts;
    logger.warn({ feed, feedDate: lastImport.feedDate, deleted, maxAgeDays }, 'feed data expired');
    expired.push({ feed, feedDate: lastImport.feedDate, deleted });
  }
  return expired;
}
