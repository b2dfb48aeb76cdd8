import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { importFeed, ImportRefusedError } from '../import/importer.ts';
import type { Logger } from '../log.ts';
import type { LatestFeed, SpurClient } from '../spur/client.ts';
import { isDiskError } from '../spur/errors.ts';
import type { FeedType } from '../feed/feed-types.ts';
import type { ImportRunSummary, Store } from '../store/types.ts';

/** `refused`: the change limit stopped the import; the feed's date stays unimported, so the next run tries again. */
export type FeedUpdateStatus = 'imported' | 'up-to-date' | 'failed' | 'refused';

export interface FeedUpdateResult {
  feed: FeedType;
  status: FeedUpdateStatus;
  /** YYYY-MM-DD of Spur's latest feed; null when Spur could not be asked. */
  feedDate: string | null;
  run?: ImportRunSummary;
  error?: Error;
  seconds: number;
}

export interface UpdateOptions {
  store: Store;
  feeds: readonly FeedType[];
  client: Pick<SpurClient, 'latestFeed' | 'downloadFeed'>;
  downloadDir: string;
  maxSkippedRatio?: number;
  maxChangeRatio?: number;
  /** Apply every feed's import whatever share of it changes. */
  force?: boolean;
  /** false: a file whose import the change limit refused is not downloaded and diffed again (the follower, every minute). */
  retryRefused?: boolean;
  logger: Logger;
}

/**
 * Brings each feed up to date with Spur's latest file: skips it when that date (or a later
 * one) is already imported, otherwise downloads it and runs the diffing import. Feeds are
 * done one after the other (the store imports one at a time anyway); one failing does not
 * stop the others.
 */
export async function updateFeeds(options: UpdateOptions): Promise<FeedUpdateResult[]> {
  const results: FeedUpdateResult[] = [];
  for (const feed of options.feeds) {
    const result = await updateFeed(feed, options);
    logResult(options.logger, result);
    results.push(result);
  }
  return results;
}

export async function updateFeed(feed: FeedType, options: UpdateOptions): Promise<FeedUpdateResult> {
  const started = performance.now();
  const seconds = (): number => Math.round(performance.now() - started) / 1000;
  let feedDate: string | null = null;
  try {
    const latest = await options.client.latestFeed(feed);
    feedDate = `${latest.date.slice(0, 4)}-${latest.date.slice(4, 6)}-${latest.date.slice(6, 8)}`;
    const stored = (await options.store.feedStatus()).find((s) => s.feed === feed);
    // ISO dates compare as strings; a later stored date (a manual import) is not rolled back.
    const imported = stored?.lastImport?.feedDate;
    if (imported != null && imported >= feedDate) return { feed, status: 'up-to-date', feedDate, seconds: seconds() };
    const refused = stored?.lastRefused;
    if (options.retryRefused === false && !options.force && refused?.feedDate === feedDate) {
      return {
        feed,
        status: 'refused',
        feedDate,
        run: refused,
        error: new ImportRefusedError(refused, refused.error ?? ''),
        seconds: seconds(),
      };
    }
    const run = await downloadAndImport(feed, latest, feedDate, options);
    return { feed, status: 'imported', feedDate, run, seconds: seconds() };
  } catch (err) {
    if (err instanceof ImportRefusedError) return { feed, status: 'refused', feedDate, run: err.run, error: err, seconds: seconds() };
    return { feed, status: 'failed', feedDate, error: err as Error, seconds: seconds() };
  }
}

async function downloadAndImport(feed: FeedType, latest: LatestFeed, feedDate: string, options: UpdateOptions): Promise<ImportRunSummary> {
  const { downloadDir, logger } = options;
  const dir = await mkdtemp(join(downloadDir, `ipoid-${feed}-`)).catch((err: unknown) => {
    throw diskError(err, downloadDir);
  });
  try {
    const file = join(dir, `${latest.date}.json.gz`);
    const bytes = await options.client.downloadFeed(latest.location, file).catch((err: unknown) => {
      throw diskError(err, downloadDir);
    });
    logger.info({ feed, feedDate, bytes }, 'feed downloaded');
    const { maxSkippedRatio, maxChangeRatio, force } = options;
    return await importFeed(options.store, file, { feed, feedDate, logger, progress: true, maxSkippedRatio, maxChangeRatio, force });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Names the directory and the setting to change, rather than a bare ENOSPC. */
function diskError(err: unknown, downloadDir: string): unknown {
  if (!isDiskError(err)) return err;
  const problem = err.code === 'ENOSPC' || err.code === 'EDQUOT' ? 'is full' : `is not writable (${err.code})`;
  return new Error(`download directory ${downloadDir} ${problem}: give IPOID_DOWNLOAD_DIR room for the compressed feed`, { cause: err });
}

/** One line per feed, so a CronJob's log says at a glance what each feed did. */
export function logResult(logger: Logger, { feed, status, feedDate, run, error, seconds }: FeedUpdateResult): void {
  if (error) {
    logger.error({ feed, status, feedDate, error: error.message, seconds }, 'feed update');
    return;
  }
  const counts = run && { inserted: run.inserted, updated: run.updated, deleted: run.deleted, skipped: run.skipped };
  logger.info({ feed, status, feedDate, ...counts, seconds }, 'feed update');
}
