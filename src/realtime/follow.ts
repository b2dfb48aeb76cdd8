import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FeedType } from '../feed/feed-types.ts';
import type { SpurClient } from '../spur/client.ts';
import { CorruptFileError, SpurAuthError, SpurHttpError } from '../spur/errors.ts';
import { ImportLockedError } from '../store/types.ts';
import { logResult, updateFeed, type FeedUpdateResult, type UpdateOptions } from '../update/update.ts';
import { applySlot, MAX_SLOT_FAILURES, recordSlotFailure } from './apply-slot.ts';
import { realtimeSinceFull } from '../store/feed-status.ts';
import { nextSlot, slotsBetween, slotText } from './slot.ts';

/** How long a follower leaves a full file alone after it failed to download or import. */
const FULL_RETRY_MS = 15 * 60_000;

export interface FollowOptions extends Omit<UpdateOptions, 'feeds' | 'client'> {
  /** The feeds followed: each gets its new full files and, between them, its realtime slots. */
  feeds: readonly FeedType[];
  client: Pick<SpurClient, 'latestFeed' | 'downloadFeed' | 'realtimeLatest' | 'realtimeFile'>;
  /** Ends `run`, and a pass between two slots (SIGTERM). */
  signal?: AbortSignal;
}

/** What one pass did with a feed's realtime slots. */
export interface RealtimeResult {
  /** Slots merged in this pass. */
  applied: number;
  /** Slots Spur answered 404 for: logged and skipped. */
  missing: number;
  /** Slots skipped after failing to merge MAX_SLOT_FAILURES times. */
  givenUp: number;
  /** The newest slot the feed has merged since its full file (this pass or before); null when none. */
  newestSlot: Date | null;
  /** Why the pass stopped before the newest slot (it goes on from there next time). */
  error?: Error;
  /** Nothing to follow yet: the feed has no full file imported. */
  waiting?: boolean;
}

export interface FollowResult {
  feed: FeedType;
  /** The full file's update (the daily job's). */
  full: FeedUpdateResult;
  realtime: RealtimeResult;
}

/**
 * Keeps feeds fresh within minutes (../shared/spec/spur-feed.md, realtime updates): each pass
 * applies a feed's new full file when Spur has one (by diff, as `ipoid update`), then merges,
 * in order, every realtime slot since 00:00 UTC of that file's date that the store has not
 * merged yet. What was merged is read from the store, so a restart, a second follower or a
 * CronJob picks up where the last left off.
 */
export class Follower {
  readonly #options: FollowOptions;
  /** Slots found missing (404) by this process, not asked for again. */
  readonly #missing = new Map<FeedType, Set<number>>();
  /** When each feed's full file last failed to import: it is not tried again for FULL_RETRY_MS. */
  readonly #fullFailedAt = new Map<FeedType, number>();
  /** The file date whose refusal was last logged, per feed. */
  readonly #refusalLogged = new Map<FeedType, string | null>();

  constructor(options: FollowOptions) {
    this.#options = options;
  }

  /** One pass over every feed (`ipoid update --realtime`). A refused token stops it: no later request can pass. */
  async pass(): Promise<FollowResult[]> {
    const results: FollowResult[] = [];
    for (const feed of this.#options.feeds) {
      if (this.#options.signal?.aborted) break;
      const full = await this.#updateFull(feed);
      if (full.error instanceof SpurAuthError) throw full.error;
      results.push({ feed, full, realtime: await this.#catchUp(feed) });
    }
    return results;
  }

  /**
   * Passes every `pollMs` until the signal aborts (`ipoid follow`). A failed pass (Spur or the
   * database away) is logged and the next one catches up; only a refused token ends it.
   */
  async run(pollMs: number): Promise<void> {
    const { logger, signal } = this.#options;
    while (!signal?.aborted) {
      try {
        await this.pass();
      } catch (err) {
        if (err instanceof SpurAuthError) throw err;
        logger.error({ error: (err as Error).message }, 'follow pass failed; trying again at the next poll');
      }
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * The daily job's update of the feed's full file, every pass: a file the change limit
   * refused is not diffed again (a person must look, then force it), and after a failure the
   * file is left alone for FULL_RETRY_MS, so that realtime is not held up behind it every poll.
   */
  async #updateFull(feed: FeedType): Promise<FeedUpdateResult> {
    const failedAt = this.#fullFailedAt.get(feed);
    if (failedAt !== undefined && performance.now() - failedAt < FULL_RETRY_MS)
      return { feed, status: 'failed', feedDate: null, error: new Error('the last try failed: tried again later'), seconds: 0 };
    const full = await updateFeed(feed, { ...this.#options, feeds: [feed], retryRefused: false });
    // Another import holding the lock is no failure of the file: it is tried again at the next pass.
    if (full.status === 'failed' && !(full.error instanceof ImportLockedError)) this.#fullFailedAt.set(feed, performance.now());
    else this.#fullFailedAt.delete(feed);
    // A refused file is answered at every pass without a download: said once per file.
    const refusal = full.status === 'refused' ? full.feedDate : undefined;
    if (full.status !== 'up-to-date' && (refusal === undefined || this.#refusalLogged.get(feed) !== refusal)) {
      logResult(this.#options.logger, full);
    }
    if (refusal !== undefined) this.#refusalLogged.set(feed, refusal);
    return full;
  }

  /** Merges the feed's slots due since its full file, up to Spur's newest, stopping at the first that fails. */
  async #catchUp(feed: FeedType): Promise<RealtimeResult> {
    const { store, logger, client, signal } = this.#options;
    const status = (await store.feedStatus()).find((s) => s.feed === feed)!;
    const full = status.lastImport;
    const result: RealtimeResult = { applied: 0, missing: 0, givenUp: 0, newestSlot: realtimeSinceFull(status)?.slot ?? null };
    if (!full || full.records === 0) return { ...result, waiting: true };
    // From 00:00 UTC of the file's date (not the day its run was filed under, which slots after midnight may have moved on).
    const first = result.newestSlot ? nextSlot(result.newestSlot) : new Date(`${full.feedDate ?? full.dataDate}T00:00:00Z`);
    let dir: string | undefined;
    try {
      const latest = await client.realtimeLatest(feed);
      const missing = this.#missingOf(feed);
      for (const slot of slotsBetween(first, latest)) {
        if (signal?.aborted) break;
        if (missing.has(slot.getTime())) continue;
        dir ??= await mkdtemp(join(this.#options.downloadDir, `ipoid-${feed}-realtime-`));
        const file = join(dir, 'slot.json.gz');
        const { maxSkippedRatio } = this.#options;
        try {
          await client.downloadFeed(client.realtimeFile(feed, slot), file);
        } catch (err) {
          if (err instanceof CorruptFileError) {
            // Recorded as a failed run, so that a file Spur keeps serving broken is given up like one that cannot be merged.
            if ((await recordSlotFailure(store, { feed, slot, logger }, err)) < MAX_SLOT_FAILURES) throw err;
            result.givenUp += 1;
            logger.error({ feed, slot: slotText(slot), error: err.message }, 'realtime slot failed too often: skipped');
            continue;
          }
          if (!(err instanceof SpurHttpError && err.status === 404)) throw err;
          // The newest slot Spur names may not be readable yet (a CDN's lag): it is asked for again at the next poll.
          if (slot >= latest) break;
          missing.add(slot.getTime());
          result.missing += 1;
          logger.warn({ feed, slot: slotText(slot) }, 'realtime slot missing (404): skipped');
          continue;
        }
        const started = performance.now();
        const outcome = await applySlot(store, file, { feed, slot, follows: full.id, logger, maxSkippedRatio });
        if (outcome.status === 'given-up') {
          result.givenUp += 1;
          logger.error({ feed, slot: slotText(slot), failures: MAX_SLOT_FAILURES }, 'realtime slot failed too often: skipped');
          continue;
        }
        if (outcome.status === 'applied') {
          const { inserted: created, updated: merged, skipped } = outcome.run;
          // The whole merge: the lock, reading the file, the transaction and its commit.
          const ms = Math.round(performance.now() - started);
          logger.info({ feed, slot: slotText(slot), created, merged, skipped, ms }, 'realtime slot merged');
          result.applied += 1;
        } else if (outcome.status !== 'applied-already') {
          // The feed's full file is not the one this pass planned from: the next pass starts from the new one's date.
          logger.info({ feed, slot: slotText(slot), status: outcome.status }, 'realtime slot not merged: the full file changed');
          break;
        }
        result.newestSlot = slot;
      }
    } catch (err) {
      if (err instanceof SpurAuthError) throw err;
      result.error = err as Error;
      const message =
        err instanceof ImportLockedError ? 'another import is running: realtime goes on at the next poll' : 'realtime stopped';
      logger.warn({ feed, error: (err as Error).message }, message);
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
    return result;
  }

  #missingOf(feed: FeedType): Set<number> {
    let missing = this.#missing.get(feed);
    if (!missing) this.#missing.set(feed, (missing = new Set()));
    return missing;
  }
}
