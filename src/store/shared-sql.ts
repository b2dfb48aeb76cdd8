import { lastAddress } from '../feed/ip.ts';
import { decodeCursor, type CursorKey } from './cursor.ts';
import { FEED_IDS } from '../feed/feed-types.ts';
import type { ChangedKeysQuery, RunsQuery } from './types.ts';

/*
 * Statements both stores run as they are: the tables and their column names are the same
 * in both schemas, and these use no dialect's own syntax. (SQLite finds the import's
 * temporary tables without the `temp.` prefix, as MariaDB does.)
 */

/** Every label with the number of stored records carrying it: one pass over ip_label's key. */
export const LABEL_COUNTS_SQL = `
  SELECT l.kind, l.value, c.count
    FROM (SELECT label_id, COUNT(*) AS count FROM ip_label GROUP BY label_id) c
    JOIN label l ON l.id = c.label_id
   ORDER BY l.kind, c.count DESC, l.value`;

/**
 * The rows of a list statement (one that asks for its LIMIT plus one row, see page.ts),
 * counted: the LIMIT stops the count early, so a filter matching millions costs no more than `atMost`.
 */
export const countedSql = (listSql: string): string => `SELECT COUNT(*) AS n FROM (${listSql}) listed`;

/** The list query's page size that makes it read `atMost` (at least 1) rows at most. */
export const countLimit = (atMost: number): number => atMost - 1;

/**
 * The runs a RunsQuery lists, newest first, reading `columns` of import_run `r`. Each filter
 * is a condition with its value bound; scanning back from the newest id stops at `limit`.
 */
export function importRunsSql(columns: string, { limit, feed, kind, status, before }: RunsQuery): { sql: string; values: unknown[] } {
  const conditions: [string, unknown][] = [];
  if (feed !== undefined) conditions.push(['r.feed_id = ?', FEED_IDS[feed]]);
  if (kind !== undefined) conditions.push(['r.kind = ?', kind]);
  if (status !== undefined) conditions.push(['r.status = ?', status]);
  if (before !== undefined) conditions.push(['r.id < ?', before]);
  const where = conditions.length > 0 ? `WHERE ${conditions.map(([condition]) => condition).join(' AND ')}` : '';
  return {
    sql: `SELECT ${columns} FROM import_run r ${where} ORDER BY r.id DESC LIMIT ?`,
    values: [...conditions.map(([, value]) => value), limit],
  };
}

/** Every label with its id. */
export const LABELS_SQL = 'SELECT id, kind, value FROM label';

/**
 * What goes into import_gone beside a gone record's key: its import_gone column and the
 * expression over ip_data `d` that fills it. A store copies what it needs to delete the
 * record without reading its row again.
 */
export type GoneCopies = Readonly<Record<string, string>>;

const goneColumns = (copies: GoneCopies): string => ['ip', 'prefix_len', ...Object.keys(copies)].join(', ');
const goneValues = (copies: GoneCopies): string => ['d.ip', 'd.prefix_len', ...Object.values(copies)].join(', ');

/** The keys of a feed (`?`) that the import did not see, into import_gone. */
export const collectUnseenSql = (copies: GoneCopies = {}): string => `
  INSERT INTO import_gone (${goneColumns(copies)})
  SELECT ${goneValues(copies)} FROM ip_data d
   WHERE d.feed_id = ?
     AND NOT EXISTS (SELECT 1 FROM import_seen s WHERE s.ip = d.ip AND s.prefix_len = d.prefix_len)`;

/**
 * The keys of a feed (`?`) whose record hash lies in one of `ranges` ranges (`BETWEEN ? AND ?`,
 * a fingerprint's range each) and that the import did not see, into import_gone. Two
 * fingerprints may name one record: the insert ignores a key already there.
 */
export const collectUnmatchedSql = (ranges: number, ignore = 'IGNORE', copies: GoneCopies = {}): string => `
  INSERT ${ignore} INTO import_gone (${goneColumns(copies)})
  SELECT ${goneValues(copies)} FROM ip_data d
   WHERE d.feed_id = ? AND (${Array.from({ length: ranges }, () => 'd.record_hash BETWEEN ? AND ?').join(' OR ')})
     AND NOT EXISTS (SELECT 1 FROM import_seen s WHERE s.ip = d.ip AND s.prefix_len = d.prefix_len)`;

/** The bounds of collectUnmatchedSql for an 8-byte fingerprint: every 16-byte hash beginning with it. */
export function hashRange(fingerprint: Buffer): [Buffer, Buffer] {
  const rest = 16 - fingerprint.length;
  return [Buffer.concat([fingerprint, Buffer.alloc(rest, 0x00)]), Buffer.concat([fingerprint, Buffer.alloc(rest, 0xff)])];
}

/** The network lengths among the keys in import_gone. */
export const GONE_LENGTHS_SQL = 'SELECT DISTINCT prefix_len FROM import_gone WHERE prefix_len < 128';

/**
 * Whether a feed (`?`) still holds a record with prefix length `?`, now or in its history
 * (lookups of a past day probe it too). Parameters twice.
 */
export const HOLDS_LENGTH_SQL = `
  SELECT 1 AS held FROM ip_data WHERE feed_id = ? AND prefix_len = ?
  UNION ALL SELECT 1 AS held FROM ip_history WHERE feed_id = ? AND prefix_len = ? LIMIT 1`;

/**
 * Records a chunk of the stored fingerprints holds, about: the import reads them one chunk a
 * statement (1 MiB of hex), not one row a record, which at 40M records took minutes.
 */
const FINGERPRINT_CHUNK = 65536;

/**
 * The [from, to) bounds of record hashes that split `count` records into chunks of about
 * FINGERPRINT_CHUNK, by the hash's first two bytes (hashes are uniform); the last bound is
 * above any 16-byte hash.
 */
export function fingerprintRanges(count: number): [Buffer, Buffer][] {
  const chunks = Math.min(2 ** 16, 2 ** Math.ceil(Math.log2(Math.max(1, count / FINGERPRINT_CHUNK))));
  const step = 2 ** 16 / chunks;
  const bound = (i: number): Buffer => (i === chunks ? Buffer.alloc(17, 0xff) : Buffer.of((i * step) >> 8, (i * step) & 0xff));
  return Array.from({ length: chunks }, (_, i) => [bound(i), bound(i + 1)]);
}

/*
 * Realtime (realtime/): a slot follows the feed's latest successful full import and the
 * slots merged since, which the import reads under the lock (import_run_feed_kind).
 */
export const latestFullRunSql = ({ fileDay, startedAt }: { fileDay: string; startedAt: string }): string => `
  SELECT id, ${fileDay} AS file_day, ${startedAt} AS started_at, records FROM import_run
   WHERE feed_id = ? AND kind = 'full' AND status = 'succeeded' ORDER BY id DESC LIMIT 1`;

/** The newest slot a feed (`?`) merged after a run id (`?`), with the records it left; `slot` as a store reads its column in unix seconds. */
export const latestSlotSql = (slot: string): string => `SELECT ${slot} AS slot, records FROM import_run
  WHERE feed_id = ? AND kind = 'realtime' AND status = 'succeeded' AND id > ? ORDER BY id DESC LIMIT 1`;

/** Records a feed's (`?`) slots merged after a run id (`?`) created. */
export const REALTIME_CREATED_SQL = `SELECT COALESCE(SUM(inserted), 0) AS n FROM import_run
  WHERE feed_id = ? AND kind = 'realtime' AND status = 'succeeded' AND id > ?`;

/** Failed runs of a feed's (`?`) slot (`slot`, as a store spells the slot's parameter). */
export const slotFailuresSql = (slot: string): string => `SELECT COUNT(*) AS n FROM import_run
  WHERE feed_id = ? AND kind = 'realtime' AND status = 'failed' AND slot = ${slot}`;

/** Of the keys in import_gone, those the feed (`?`) last wrote after a time (`at`, as a store spells it). */
export const goneWrittenAfterSql = (at: string): string => `SELECT COUNT(*) AS n FROM import_gone g
  JOIN ip_data d ON d.ip = g.ip AND d.prefix_len = g.prefix_len AND d.feed_id = ? WHERE d.last_updated > ${at}`;

/** How many records a feed (`?`) holds. */
export const COUNT_STORED_SQL = 'SELECT COUNT(*) AS n FROM ip_data WHERE feed_id = ?';

/*
 * History (history/): an import stages, in import_history, the state each key it changes
 * had before (history/state-codec.ts; NULL for a key it adds); its commit files them in
 * ip_history under the run's feed day and prunes what fell out of the kept window.
 */

/** The feed's (`?`) latest data day: a run is never filed before it, so a key's states stay in order. */
export const LATEST_DATA_DAY_SQL = "SELECT MAX(data_date) AS day FROM import_run WHERE feed_id = ? AND status = 'succeeded'";

/** Whether any import succeeded before: a first load then stages its keys as added (the days before did not have them). */
export const ANY_RUN_SQL = "SELECT 1 AS any_run FROM import_run WHERE status = 'succeeded' LIMIT 1";

/** Each feed day with data: the last successful run of each feed on each day, and whether every run of the day kept its history; oldest first. */
export const DATA_DAYS_SQL = `
  SELECT r.feed_id, r.data_date, r.records, k.kept AS history_kept FROM import_run r
    JOIN (SELECT MAX(s.id) AS id, MIN(s.history_kept) AS kept FROM import_run s
           WHERE s.status = 'succeeded' GROUP BY s.feed_id, s.data_date) k ON k.id = r.id
   ORDER BY r.data_date, r.feed_id`;

/** Rows of a second import's same-day re-take read at once (sameDaySql). */
export const SAME_DAY_PAGE = 1000;

/**
 * Staged keys that already have a state filed on this day (feed `?`, day `?`), which a
 * second import of the day must re-take against the key's record now (`next`). `join` keeps
 * the staged keys outer (SQLite's CROSS JOIN, MariaDB's STRAIGHT_JOIN): ip_history is probed
 * by key, never scanned. `context` reads the record's JSON from ip_data `d`. A page at a time,
 * in key order: `after` is the condition on the staged key that starts the page (its
 * parameters follow the feed's and the day's), so that memory is bounded by the page, not
 * by the day's changes (2M records at 40M).
 */
export const sameDaySql = (ip: string, join: string, context = 'd.context', after?: string): string => `
  SELECT ${ip} AS ip, s.prefix_len, s.state AS staged, h.state AS kept, ${context} AS next
    FROM import_history s
    ${join} ip_history h ON h.ip = s.ip AND h.prefix_len = s.prefix_len AND h.feed_id = ? AND h.ended_on = ?
    LEFT JOIN ip_data d ON d.ip = s.ip AND d.prefix_len = s.prefix_len AND d.feed_id = h.feed_id
   WHERE h.state IS NOT NULL${after ? ` AND ${after}` : ''}
   ORDER BY s.ip, s.prefix_len LIMIT ${SAME_DAY_PAGE}`;

export const RESTATE_SQL = 'UPDATE ip_history SET state = ? WHERE ip = ? AND prefix_len = ? AND feed_id = ? AND ended_on = ?';

/** Files the staged states under the feed (`?`) and day (`?`), in key order; a key filed earlier the same day keeps its state. */
export const fileHistorySql = (ignore: string): string => `
  INSERT ${ignore} INTO ip_history (ip, prefix_len, feed_id, ended_on, state, label_ids, last_updated)
  SELECT ip, prefix_len, ?, ?, state, label_ids, last_updated FROM import_history ORDER BY ip, prefix_len`;

/** Journals a part of the keys filed for a feed (`?`) on a day (`?`): history/key-journal.ts. Parameters: feed, day, keys, feed, day. */
export const JOURNAL_KEYS_SQL = `
  INSERT INTO ip_history_day (feed_id, ended_on, part, key_list)
  SELECT ?, ?, COALESCE(MAX(part), -1) + 1, ? FROM ip_history_day WHERE feed_id = ? AND ended_on = ?`;

/** The journaled keys of a feed's (`?`) days on or before a day (`?`): the states to prune. */
export const PRUNABLE_KEYS_SQL = 'SELECT ended_on, key_list FROM ip_history_day WHERE feed_id = ? AND ended_on <= ?';

export const PRUNE_STATE_SQL = 'DELETE FROM ip_history WHERE ip = ? AND prefix_len = ? AND feed_id = ? AND ended_on = ?';

export const PRUNE_JOURNAL_SQL = 'DELETE FROM ip_history_day WHERE feed_id = ? AND ended_on <= ?';

/** How a store spells "after the cursor's key" over ip_history `h`'s (ip, prefix_len, feed_id). */
export type KeysetAfter = (after: CursorKey) => { sql: string; values: unknown[] };

/**
 * A page of the keys with states filed after `since` (one more than the limit: is there a
 * next page?): a range of ip_history's primary key in key order from the cursor, skipping the
 * states filed before.
 */
export function changedKeysSql(query: ChangedKeysQuery, ip: string, keysetAfter: KeysetAfter): { sql: string; values: unknown[] } {
  // Columns named through `h`: MariaDB would order by the select list's `ip` (a CAST), with a sort.
  const where = ['h.ended_on > ?'];
  const values: unknown[] = [query.since];
  if (query.within) {
    where.push('h.ip BETWEEN ? AND ? AND h.prefix_len >= ?');
    values.push(query.within.bytes, lastAddress(query.within.bytes, query.within.prefixLen), query.within.prefixLen);
  }
  if (query.after) {
    const after = keysetAfter(decodeCursor(query.after));
    where.push(after.sql);
    values.push(...after.values);
  }
  values.push(query.limit + 1);
  // GROUP BY the key's columns, not DISTINCT over the select list: MariaDB would put a CAST's values in a temporary table.
  const sql = `SELECT ${ip} AS ip, h.prefix_len, h.feed_id FROM ip_history h WHERE ${where.join(' AND ')}
    GROUP BY h.ip, h.prefix_len, h.feed_id ORDER BY h.ip, h.prefix_len, h.feed_id LIMIT ?`;
  return { sql, values };
}
