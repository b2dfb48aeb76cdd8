import { lastAddress, type CanonicalIp } from '../../feed/ip.ts';
import { decodeCursor } from '../cursor.ts';
import { prefixFilter, prefixGrouping, type PrefixGrouping } from '../prefix-density.ts';
import type { ListQuery, PrefixQuery } from '../types.ts';
import { ipKeyAddressSql, ipKey } from './sqlite-ip-key.ts';

/** The ip_data columns a read selects, as rows.ts's DataRow, with `context` read as given. */
export const recordColumns = (context: string): string => `d.ip, d.prefix_len, d.feed_id, d.ip_text, ${context}, d.last_updated`;

/** The ip_data columns every read selects (ipoid_context: the JSON however the row keeps it, sqlite-context-codec.ts). */
export const RECORD_COLUMNS = recordColumns('ipoid_context(d.context) AS context');

/** A label-driven scan's address (ip_label k's key) as ip_data keeps it: what it joins on and groups by. */
const LABEL_ROW_ADDRESS = ipKeyAddressSql('k.ip_key');

/**
 * The scan of the records matching labels and a prefix: the tables, the alias whose key the
 * scan follows, the conditions, and how the scan's address is spelt: `ip`, the column its
 * index orders (ip_label's ip_key or ip_data's ip), `bound` to turn a 16-byte address into
 * a value of that column, and `address`, the column read as a 16-byte address.
 */
interface FilteredScan {
  from: string;
  key: string;
  ip: string;
  address: string;
  bound: (address: Buffer) => Buffer;
  where: string[];
  params: unknown[];
}

/**
 * The records matching every label (resolved to ids) inside `within`. The first label drives
 * an index range scan of ip_label's key in key order, the others are key lookups; without
 * labels the range scan is on ip_data_key. A record is inside `within` when its first
 * address is and its prefix is at least as long, so its whole range is. Without `readsData`,
 * a label-driven scan does not join ip_data (each ip_label row's record exists): counting needs only keys.
 */
function filteredScan(labelIds: readonly number[], within: CanonicalIp | undefined, readsData = true): FilteredScan {
  const [driver, ...others] = labelIds;
  const byLabel = driver !== undefined;
  const scan: FilteredScan = byLabel
    ? {
        from: `ip_label k${readsData ? ` JOIN ip_data d ON d.ip = ${LABEL_ROW_ADDRESS} AND d.prefix_len = k.prefix_len AND d.feed_id = k.feed_id` : ''}`,
        key: 'k',
        ip: 'k.ip_key',
        address: LABEL_ROW_ADDRESS,
        bound: ipKey,
        where: ['k.label_id = ?'],
        params: [driver],
      }
    : { from: 'ip_data d', key: 'd', ip: 'd.ip', address: 'd.ip', bound: (address) => address, where: [], params: [] };
  for (const id of others) {
    scan.where.push(
      'EXISTS (SELECT 1 FROM ip_label o WHERE o.label_id = ? AND o.ip_key = k.ip_key AND o.prefix_len = k.prefix_len AND o.feed_id = k.feed_id)',
    );
    scan.params.push(id);
  }
  if (within) {
    scan.where.push(`${scan.ip} BETWEEN ? AND ? AND ${scan.key}.prefix_len >= ?`);
    scan.params.push(scan.bound(within.bytes), scan.bound(lastAddress(within.bytes, within.prefixLen)), within.prefixLen);
  }
  return scan;
}

/** The one statement of a list page selecting `columns` of ip_data `d`, for labels already resolved to ids. */
export function sqliteListQuery(
  labelIds: readonly number[],
  query: ListQuery,
  columns = RECORD_COLUMNS,
): { sql: string; params: unknown[] } {
  const { from, key, ip, bound, where, params } = filteredScan(labelIds, query.within);
  if (query.after) {
    const after = decodeCursor(query.after);
    where.push(`(${ip}, ${key}.prefix_len, ${key}.feed_id) > (?, ?, ?)`);
    params.push(bound(after.ip), after.prefixLen, after.feedId);
  }
  // One row more than asked tells whether another page follows.
  params.push(query.limit + 1);
  const sql = `SELECT ${columns} FROM ${from}
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${ip}, ${key}.prefix_len, ${key}.feed_id LIMIT ?`;
  return { sql, params };
}

/** Each byte value at its own offset: instr() over it reads a byte of a BLOB as a number (SQLite has no function for that). */
const BYTE_VALUES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** The two statements of Store.prefixes (store/prefix-density.ts), for labels already resolved to ids. */
export function sqlitePrefixQueries(labelIds: readonly number[], query: PrefixQuery) {
  const grouping: PrefixGrouping = prefixGrouping(query);
  const filter = (readsData: boolean) => {
    const scan = filteredScan(labelIds, query.within, readsData);
    const family = prefixFilter(query, scan);
    return { ...scan, where: [...scan.where, family.sql].join(' AND '), params: [...scan.params, ...family.values] };
  };
  const counted = filter(false);
  const read = filter(true);
  const { headBytes, tailMask } = grouping;
  return {
    grouping,
    /** The densest prefixes as groups: head, tail, count. */
    groups: {
      sql: `SELECT substr(${counted.address}, 1, ?) AS head, (instr(?, substr(${counted.address}, ? + 1, 1)) - 1) & ? AS tail, COUNT(*) AS count
        FROM ${counted.from} WHERE ${counted.where}
        GROUP BY head, tail HAVING COUNT(*) >= ? ORDER BY count DESC, head, tail LIMIT ?`,
      params: [headBytes, BYTE_VALUES, headBytes, tailMask, ...counted.params, query.min, query.limit],
    },
    /** The label ids of the matching records of one prefix, from its first to its last address. */
    labels: {
      sql: `SELECT d.label_ids FROM ${read.from} WHERE ${read.where} AND ${read.ip} BETWEEN ? AND ?`,
      params: (first: Buffer, last: Buffer): unknown[] => [...read.params, read.bound(first), read.bound(last)],
    },
  };
}
