import { decodeKeys } from '../history/key-journal.ts';
import { FEED_IDS } from '../feed/feed-types.ts';
import { newestServedRun } from './feed-status.ts';
import { byKey, type RecordKey } from './realtime-keys.ts';
import type { DataRow } from './rows.ts';
import type { ChangeVisitor, FeedStatus, RunKind } from './types.ts';

/*
 * What an API process patches its lookup index with (lookup/): the keys every run since the
 * index's base was read wrote, and then those records as they are now, where a whole build
 * reads every record (minutes at tens of millions). A realtime slot's keys are kept with its
 * run (realtime_keys); a full import's are the keys its history filed for its feed day
 * (ip_history_day, history/key-journal.ts), which also holds the day's other runs' keys: a
 * key read that did not change reads as the base holds it, so more keys cost time, not truth.
 */

/** Per feed whose data moved on, the newest run the index holds: the patch reads the runs after it. */
export interface PatchFeed {
  feedId: number;
  after: number;
}

/** The feeds' succeeded runs after a run id, in order: PATCH_RUNS_SQL's rows. Parameters: feed, run id. */
export const PATCH_RUNS_SQL = `SELECT id, kind, data_date, history_kept, inserted + updated + deleted AS changed
  FROM import_run WHERE feed_id = ? AND status = 'succeeded' AND id > ? ORDER BY id`;

export interface PatchRun {
  id: number;
  kind: RunKind;
  data_date: number;
  history_kept: number;
  changed: number | bigint;
}

/** A slot's key lists (parameter: its run id), none for a slot merged before they were kept or whose keys a later import dropped. */
export const SLOT_KEY_LISTS_SQL = 'SELECT key_list FROM realtime_keys WHERE run_id = ? ORDER BY part';

/** The keys history filed for a feed day (parameters: feed, day): an import's among them. */
export const DAY_KEY_LISTS_SQL = 'SELECT key_list FROM ip_history_day WHERE feed_id = ? AND ended_on = ? ORDER BY part';

/** The statement and parameters that read a run's key lists. */
export const keyListsOf = (feedId: number, run: PatchRun): [string, number[]] =>
  run.kind === 'realtime' ? [SLOT_KEY_LISTS_SQL, [run.id]] : [DAY_KEY_LISTS_SQL, [feedId, run.data_date]];

/**
 * Which feeds' runs make the data of `now` out of the index built from `since` (the newest
 * run of each it holds); feeds whose data did not move are left out.
 */
export function patchPlan(since: readonly FeedStatus[], now: readonly FeedStatus[]): PatchFeed[] {
  const newestOf = (status: FeedStatus | undefined) => (status && newestServedRun(status)?.id) ?? 0;
  return now.flatMap((status) => {
    const after = newestOf(since.find((s) => s.feed === status.feed));
    return newestOf(status) > after ? [{ feedId: FEED_IDS[status.feed], after }] : [];
  });
}

/** The keys a patch reads, gathered run by run. */
export class PatchKeys {
  readonly #keys = new Map<string, RecordKey>();
  readonly #maxKeys: number;

  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys;
  }

  /**
   * Adds a run's keys from its key lists; false when the patch cannot follow the run (a slot
   * that kept no keys, an import that kept no history or whose day's keys are fewer than it
   * changed, as after the day left the history window), or when more than `maxKeys` keys are
   * there in all: a patch would read more than it saves.
   */
  add(feedId: number, run: PatchRun, lists: readonly { key_list: Buffer }[]): boolean {
    const changed = Number(run.changed);
    if (run.kind === 'full' && changed === 0) return true;
    if (run.kind === 'full' && Number(run.history_kept) !== 1) return false;
    if (lists.length === 0) return false;
    let read = 0;
    for (const { key_list } of lists) {
      for (const key of decodeKeys(key_list)) {
        this.#keys.set(`${feedId}/${key.prefix_len}/${key.ip.toString('hex')}`, { ...key, feed_id: feedId });
        read++;
      }
      if (this.#keys.size > this.#maxKeys) return false;
    }
    return run.kind === 'realtime' || read >= changed;
  }

  /** The keys in key order (byKey). */
  inKeyOrder(): RecordKey[] {
    return [...this.#keys.values()].sort(byKey);
  }
}

/**
 * Visits a chunk of keys in key order: each key's record among `rows` (read in key order, and
 * possibly others, of the same addresses), or that it is gone.
 */
export function visitKeys(keys: readonly RecordKey[], rows: readonly DataRow[], visitor: ChangeVisitor): void {
  let at = 0;
  for (const key of keys) {
    while (at < rows.length && byKey(rows[at]!, key) < 0) at++;
    if (at < rows.length && byKey(rows[at]!, key) === 0) visitor.record(rows[at++]!);
    else visitor.gone(key);
  }
}
