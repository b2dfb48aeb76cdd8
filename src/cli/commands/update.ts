import { Command } from 'commander';
import { ImportRefusedError } from '../../import/importer.ts';
import { createLogger } from '../../log.ts';
import { EXIT, exitStatus, InputError } from '../../errors.ts';
import { Follower, type RealtimeResult } from '../../realtime/follow.ts';
import { slotText } from '../../realtime/slot.ts';
import { SpurClient } from '../../spur/client.ts';
import { loadFollowConfig, loadUpdateConfig, type UpdateConfig } from '../../update/config.ts';
import { expireStaleFeeds } from '../../update/expire.ts';
import { updateFeeds, type FeedUpdateResult } from '../../update/update.ts';
import { yieldCpuToReaders } from '../batch-priority.ts';
import { printJson, reportError, stopSignal, withStore } from '../run.ts';

/**
 * Of the feeds' failures, the most telling decides the exit status: a bad token, then a
 * refused import (both need a person), then a held lock, then any other.
 */
const PRECEDENCE: readonly number[] = [EXIT.auth, EXIT.refused, EXIT.locked, EXIT.failed];

function exitCode(errors: Error[]): number {
  const statuses = new Set(errors.map(exitStatus));
  return PRECEDENCE.find((status) => statuses.has(status)) ?? (statuses.size ? EXIT.failed : EXIT.ok);
}

/** One JSON line per feed on stdout, its error on stderr. */
function report({ feed, status, feedDate, run, error, seconds }: FeedUpdateResult, realtime?: RealtimeResult): void {
  // A refused run's counts are those it would have applied.
  const counts = run && { inserted: run.inserted, updated: run.updated, deleted: run.deleted, skipped: run.skipped, records: run.records };
  const slots = realtime && {
    realtime: {
      applied: realtime.applied,
      missing: realtime.missing,
      givenUp: realtime.givenUp || undefined,
      newestSlot: realtime.newestSlot && slotText(realtime.newestSlot),
      waiting: realtime.waiting,
      error: realtime.error?.message,
    },
  };
  printJson({ feed, status, feedDate, ...counts, seconds, error: error?.message, ...slots });
  if (status === 'refused') {
    const { reason } = error as ImportRefusedError;
    process.stderr.write(
      `ipoid: ${feed}: import of ${feedDate} refused, stored data unchanged: ${reason}; if the file is right, apply it with: ipoid update --force --feed ${feed}\n`,
    );
  } else if (error) process.stderr.write(`ipoid: ${feed}: ${error.message}\n`);
  if (realtime?.error) process.stderr.write(`ipoid: ${feed}: realtime: ${realtime.error.message}\n`);
}

export const updateCommand = new Command('update')
  .description('download the latest Spur feeds (SPUR_API_TOKEN, SPUR_FEED_BASE_URL) and import those not yet imported, by diff')
  .option('--feed <types>', 'comma-separated feed types (default: IPOID_FEEDS, else anonymous; with --realtime: IPOID_REALTIME_FEEDS)')
  .option('--force', 'apply the imports whatever share of a feed they change (IPOID_MAX_CHANGE_RATIO)')
  .option('--realtime', "then merge the realtime files Spur published since each feed's full file: one pass of `ipoid follow`")
  .action(async (opts: { feed?: string; force?: boolean; realtime?: boolean }) => {
    let config: UpdateConfig;
    try {
      // Before opening (and migrating) the database: a missing token needs no connection.
      config = opts.realtime ? loadFollowConfig(process.env, opts.feed) : loadUpdateConfig(process.env, opts.feed);
      yieldCpuToReaders();
    } catch (err) {
      reportError(new InputError((err as Error).message), createLogger());
      return;
    }
    await withStore(async ({ store, logger }) => {
      const client = new SpurClient(config.spur, logger);
      const { feeds, downloadDir, maxSkippedRatio, maxChangeRatio } = config;
      const options = { store, feeds, client, downloadDir, maxSkippedRatio, maxChangeRatio, force: opts.force, logger };
      if (opts.realtime) {
        // Expiry stays the daily job's: this pass may run every few minutes. SIGTERM (a
        // CronJob's pod stopped) ends the pass between two slots, as it ends `follow`.
        const results = await new Follower({ ...options, signal: stopSignal() }).pass();
        for (const { full, realtime } of results) report(full, realtime);
        process.exitCode = exitCode(results.flatMap(({ full, realtime }) => [full.error, realtime.error].filter((e) => e !== undefined)));
        return;
      }
      const results = await updateFeeds(options);
      for (const result of results) report(result);
      const expired = config.maxFeedAgeDays > 0 ? await expireStaleFeeds(store, config.maxFeedAgeDays, logger) : [];
      for (const { feed, feedDate, deleted } of expired) {
        printJson({ feed, status: 'expired', feedDate, deleted });
        process.stderr.write(
          `ipoid: ${feed}: data from ${feedDate ?? 'an unknown date'} expired (older than ${config.maxFeedAgeDays} days)\n`,
        );
      }
      // Expired data means a feed went unrefreshed for days: that needs someone's attention.
      process.exitCode = exitCode(results.flatMap((r) => (r.error ? [r.error] : []))) || (expired.length ? EXIT.failed : EXIT.ok);
    });
  });
