import { encodeKeys, KEYS_PER_PART, type HistoryKey } from '../history/key-journal.ts';

/*
 * The keys each realtime slot wrote (table realtime_keys), kept with its run until the feed's
 * second full import after it: what an API process patches its lookup index with
 * (store/patch-keys.ts), reading those records only, where a whole new index reads every
 * record (minutes at tens of millions).
 */

/** A stored record's key: address, prefix length and feed. */
export interface RecordKey extends HistoryKey {
  feed_id: number;
}

const byAddress = (a: HistoryKey, b: HistoryKey): number => Buffer.compare(a.ip, b.ip) || a.prefix_len - b.prefix_len;
/** Key order, as the lookup index is built in (Store.scanRecords): address, prefix length, feed. */
export const byKey = (a: RecordKey, b: RecordKey): number => byAddress(a, b) || a.feed_id - b.feed_id;

/** A slot's keys, sorted (neighbours compress), as the key_list parts of its realtime_keys rows: one at least, so that a slot that changed nothing still says so. */
export function slotKeyParts(keys: readonly HistoryKey[]): Buffer[] {
  const sorted = [...keys].sort(byAddress);
  const parts: Buffer[] = [];
  for (let at = 0; at === 0 || at < sorted.length; at += KEYS_PER_PART) parts.push(encodeKeys(sorted.slice(at, at + KEYS_PER_PART)));
  return parts;
}

export const INSERT_SLOT_KEYS_SQL = 'INSERT INTO realtime_keys (run_id, part, feed_id, key_list) VALUES (?, ?, ?, ?)';

/**
 * At a full import of a feed (parameters: feed, feed, the import's run id): the keys of its
 * slots before the feed's previous full import go. An index built since that import is
 * patched with the slots after it, up to this import, and then this import's keys; one built
 * before it is built whole.
 */
export const DELETE_SLOT_KEYS_SQL = `DELETE FROM realtime_keys WHERE feed_id = ? AND run_id <
  (SELECT MAX(id) FROM import_run WHERE feed_id = ? AND kind = 'full' AND status = 'succeeded' AND id < ?)`;
