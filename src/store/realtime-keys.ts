import { decodeKeys, encodeKeys, KEYS_PER_PART, type HistoryKey } from '../history/key-journal.ts';
import { FEED_IDS } from '../feed/feed-types.ts';
import { realtimeSinceFull } from './feed-status.ts';
import type { FeedStatus } from './types.ts';

/*
 * The keys each realtime slot wrote (table realtime_keys), kept with its run until the feed's
 * next full import: what an API process patches its lookup index with (lookup/), reading those
 * records only, where a whole new index reads every record (minutes at tens of millions).
 */

/** A stored record's key: address, prefix length and feed. */
export interface RecordKey extends HistoryKey {
  feed_id: number;
}

const byAddress = (a: HistoryKey, b: HistoryKey): number => Buffer.compare(a.ip, b.ip) || a.prefix_len - b.prefix_len;
const byKey = (a: RecordKey, b: RecordKey): number => byAddress(a, b) || a.feed_id - b.feed_id;

/** A slot's keys, sorted (neighbours compress), as the key_list parts of its realtime_keys rows: one at least, so that a slot that changed nothing still says so. */
export function slotKeyParts(keys: readonly HistoryKey[]): Buffer[] {
  const sorted = [...keys].sort(byAddress);
  const parts: Buffer[] = [];
  for (let at = 0; at === 0 || at < sorted.length; at += KEYS_PER_PART) parts.push(encodeKeys(sorted.slice(at, at + KEYS_PER_PART)));
  return parts;
}

export const INSERT_SLOT_KEYS_SQL = 'INSERT INTO realtime_keys (run_id, part, feed_id, key_list) VALUES (?, ?, ?, ?)';

/** At a full import of the feed (`?`): its slots' keys are of no use once the new file replaces what they merged. */
export const DELETE_SLOT_KEYS_SQL = 'DELETE FROM realtime_keys WHERE feed_id = ?';

/** The feed's (`?`) realtime runs after a run id (`?`), each with its key lists: NULL for a run that kept none (merged before they were kept). */
export const SLOT_KEY_LISTS_SQL = `SELECT r.id, k.key_list FROM import_run r LEFT JOIN realtime_keys k ON k.run_id = r.id
  WHERE r.feed_id = ? AND r.kind = 'realtime' AND r.status = 'succeeded' AND r.id > ? ORDER BY r.id, k.part`;

/** What to read for a patch: per feed, the realtime runs after `after` (the newest run the index holds). */
export interface PatchFeed {
  feedId: number;
  after: number;
}

/**
 * Which feeds' slots make the data of `now` out of the index built from `since`; null when a
 * patch cannot: a feed had a full import (or an expiry) since, which may delete records and
 * changes many. Feeds whose data did not move are left out.
 */
export function patchPlan(since: readonly FeedStatus[], now: readonly FeedStatus[]): PatchFeed[] | null {
  const plan: PatchFeed[] = [];
  for (const status of now) {
    const before = since.find((s) => s.feed === status.feed);
    const full = status.lastImport?.id ?? null;
    if ((before?.lastImport?.id ?? null) !== full) return null;
    const newest = realtimeSinceFull(status);
    if (full === null || !newest) continue;
    const after = realtimeSinceFull(before!)?.id ?? full;
    if (newest.id > after) plan.push({ feedId: FEED_IDS[status.feed], after });
  }
  return plan;
}

/**
 * The keys of a feed's slots (SLOT_KEY_LISTS_SQL's rows), added to `into`; false when a run
 * kept no keys, or when more than `maxKeys` keys are there in all (a patch would read more
 * than it saves).
 */
export function addSlotKeys(
  into: Map<string, RecordKey>,
  feedId: number,
  rows: readonly { key_list: Buffer | null }[],
  maxKeys: number,
): boolean {
  for (const { key_list } of rows) {
    if (key_list === null) return false;
    for (const key of decodeKeys(key_list)) into.set(`${feedId}/${key.prefix_len}/${key.ip.toString('hex')}`, { ...key, feed_id: feedId });
    if (into.size > maxKeys) return false;
  }
  return true;
}

/** The keys in the order the index is built in (Store.scanRecords): address, prefix length, feed. */
export const inKeyOrder = (keys: Map<string, RecordKey>): RecordKey[] => [...keys.values()].sort(byKey);
