import { Command } from 'commander';
import { ImportRefusedError } from '../../import/importer.ts';
import { createLogger } from '../../log.ts';
import { EXIT, exitStatus, InputError } from '../../errors.ts';
import { SpurClient } from '../../spur/client.ts';
import { loadUpdateConfig, type UpdateConfig } from '../../update/config.ts';
import { expireStaleFeeds } from '../../update/expire.ts';
import { updateFeeds, type FeedUpdateResult } from '../../update/update.ts';
import { printJson, reportError, withStore } from '../run.ts';

/**
 * Of the feeds' failures, the most telling decides the exit status: a bad token, then a
 * refused import (both need a person), then a held lock, then any other.
 */
const PRECEDENCE: readonly number[] = [EXIT.auth, EXIT.refused, EXIT.locked, EXIT.failed];

function exitCode(results: FeedUpdateResult[]): number {
  const statuses = new Set(results.flatMap((r) => (r.error ? [exitStatus(r.error)] : [])));
  return PRECEDENCE.find((status) => statuses.has(status)) ?? (statuses.size ? EXIT.failed : EXIT.ok);
}

export const updateCommand = new Command('update')
  .description('download the latest Spur feeds (SPUR_API_TOKEN, SPUR_FEED_BASE_URL) and import those not yet imported, by diff')
  .option('--feed <types>', 'comma-separated feed types (default: IPOID_FEEDS, else anonymous)')
  .option('--force', 'apply the imports whatever share of a feed they change (IPOID_MAX_CHANGE_RATIO)')
  .action(async (opts: { feed?: string; force?: boolean }) => {
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
      const { feeds, downloadDir, maxSkippedRatio, maxChangeRatio } = config;
      const results = await updateFeeds({ store, feeds, client, downloadDir, maxSkippedRatio, maxChangeRatio, force: opts.force, logger });
      for (const { feed, status, feedDate, run, error, seconds } of results) {
        // A refused run's counts are those it would have applied.
        const counts = run && {
          inserted: run.inserted,
          updated: run.updated,
          deleted: run.deleted,
          skipped: run.skipped,
          records: run.records,
        };
        printJson({ feed, status, feedDate, ...counts, seconds, error: error?.message });
        if (status === 'refused') {
          const { reason } = error as ImportRefusedError;
          process.stderr.write(
            `ipoid: ${feed}: import of ${feedDate} refused, stored data unchanged: ${reason}; if the file is right, apply it with: ipoid update --force --feed ${feed}\n`,
          );
        } else if (error) process.stderr.write(`ipoid: ${feed}: ${error.message}\n`);
      }
      const expired = config.maxFeedAgeDays > 0 ? await expireStaleFeeds(store, config.maxFeedAgeDays, logger) : [];
      for (const { feed, feedDate, deleted } of expired) {
        printJson({ feed, status: 'expired', feedDate, deleted });
        process.stderr.write(
          `ipoid: ${feed}: data from ${feedDate ?? 'an unknown date'} expired (older than ${config.maxFeedAgeDays} days)\n`,
        );
      }
      // Expired data means a feed went unrefreshed for days: that needs someone's attention.
      process.exitCode = exitCode(results) || (expired.length ? EXIT.failed : EXIT.ok);
    });
  });
