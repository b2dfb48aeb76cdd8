import { Command } from 'commander';
import { createLogger } from '../../log.ts';
import { EXIT, exitStatus, InputError } from '../../errors.ts';
import { SpurClient } from '../../spur/client.ts';
import { loadUpdateConfig, type UpdateConfig } from '../../update/config.ts';
import { expireStaleFeeds } from '../../update/expire.ts';
import { updateFeeds, type FeedUpdateResult } from '../../update/update.ts';
import { printJson, reportError, withStore } from '../run.ts';

/** Of the feeds' failures, the most telling decides the exit status: a bad token, then a held lock, then any other. */
const PRECEDENCE: readonly number[] = [EXIT.auth, EXIT.locked, EXIT.failed];

function exitCode(results: FeedUpdateResult[]): number {
  const statuses = new Set(results.flatMap((r) => (r.error ? [exitStatus(r.error)] : [])));
  return PRECEDENCE.find((status) => statuses.has(status)) ?? (statuses.size ? EXIT.failed : EXIT.ok);
}

export const updateCommand = new Command('update')
  .description('download the latest Spur feeds (SPUR_API_TOKEN, SPUR_FEED_BASE_URL) and import those not yet imported, by diff')
  .option('--feed <types>', 'comma-separated feed types (default: IPOID_FEEDS, else anonymous)')
  .action(async (opts: { feed?: string }) => {
    let config: UpdateConfig;
    try {
      // Before opening (and migrating) the database: a missing token needs no connection.
      config = loadUpdateConfig(process.env, opts.feed);
    } catch (err) {
      reportError(new InputError((err as Error).message), createLogger());
      return;
    }
    await withStore(async ({ store, logger }) => {
      const client = new SpurClient(config.spur, logger);
      const results = await updateFeeds({ store, feeds: config.feeds, client, downloadDir: config.downloadDir, maxSkippedRatio: config.maxSkippedRatio, logger });
      for (const { feed, status, feedDate, run, error, seconds } of results) {
        const counts = run && { inserted: run.inserted, updated: run.updated, deleted: run.deleted, skipped: run.skipped, records: run.records };
        printJson({ feed, status, feedDate, ...counts, seconds, error: error?.message });
        if (error) process.stderr.write(`ipoid: ${feed}: ${error.message}\n`);
      }
      const expired = config.maxFeedAgeDays > 0 ? await expireStaleFeeds(store, config.maxFeedAgeDays, logger) : [];
      for (const { feed, feedDate, deleted } of expired) {
        printJson({ feed, status: 'expired', feedDate, deleted });
        process.stderr.write(`ipoid: ${feed}: data from ${feedDate ?? 'an unknown date'} expired (older than ${config.maxFeedAgeDays} days)\n`);
      }
      // Expired data means a feed went unrefreshed for days: that needs someone's attention.
      process.exitCode = exitCode(results) || (expired.length ? EXIT.failed : EXIT.ok);
    });
  });
