import { lastAddress } from '../../feed/ip.ts';
import { decodeCursor } from '../cursor.ts';
import { prefixFilter, prefixGrouping } from '../prefix-density.ts';
import type { ListFilter, ListQuery, PrefixQuery } from '../types.ts';

export interface Sql {
  sql: string;
  values: unknown[];
}

const sameKey = (a: string, b: string): string => `${a}.ip = ${b}.ip AND ${a}.prefix_len = ${b}.prefix_len AND ${a}.feed_id = ${b}.feed_id`;

/** The scan of the records a ListFilter takes: the tables, the alias whose key the scan follows, and the conditions. */
interface FilteredScan {
  from: string;
  key: string;
  where: string[];
  values: unknown[];
}

/**
 * The records matching every label inside `within`. Labels are found by `label`'s unique key,
 * so the optimizer reads them first as constants and an unknown label empties the result.
 * The first label drives a range scan of ip_label's primary key in key order, the others are
 * primary-key lookups; without labels the range scan is on ip_data. Without `readsData`, a
 * label-driven scan does not join ip_data (each ip_label row's record exists): counting needs only keys.
 */
function filteredScan(query: ListFilter, readsData = true): FilteredScan {
  const from: string[] = [];
  const where: string[] = [];
  const values: unknown[] = [];
  query.labels.forEach(({ kind, value }, i) => {
    from.push(i === 0 ? 'label l0' : `JOIN label l${i}`);
    from.push(`JOIN ip_label k${i} ON k${i}.label_id = l${i}.id${i === 0 ? '' : ` AND ${sameKey(`k${i}`, 'k0')}`}`);
    if (i === 0 && readsData) from.push(`JOIN ip_data d ON ${sameKey('d', 'k0')}`);
    where.push(`l${i}.kind = ? AND l${i}.value = ?`);
    values.push(kind, value);
  });
  if (from.length === 0) from.push('ip_data d');
  const key = query.labels.length ? 'k0' : 'd';
  if (query.within) {
    // Inside the prefix: the first address is, and the prefix is at least as long.
    where.push(`${key}.ip BETWEEN ? AND ? AND ${key}.prefix_len >= ?`);
    values.push(query.within.bytes, lastAddress(query.within.bytes, query.within.prefixLen), query.within.prefixLen);
  }
  return { from: from.join(' '), key, where, values };
}

/**
 * The one statement of a list page, selecting `columns` of ip_data `d`. The keyset condition
 * is spelled out, not a row comparison, so that it becomes a range.
 */
export function listQuery(query: ListQuery, columns: string): Sql {
  const { from, key, where, values } = filteredScan(query);
  if (query.after) {
    const after = decodeCursor(query.after);
    where.push(`(${key}.ip > ? OR (${key}.ip = ? AND (${key}.prefix_len > ? OR (${key}.prefix_len = ? AND ${key}.feed_id > ?))))`);
    values.push(after.ip, after.ip, after.prefixLen, after.prefixLen, after.feedId);
  }
  // One row more than asked tells whether another page follows.
  values.push(query.limit + 1);
  return {
    sql: `SELECT ${columns} FROM ${from}
          ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY ${key}.ip, ${key}.prefix_len, ${key}.feed_id LIMIT ?`,
    values,
  };
}

/**
 * Prefixes whose records' labels one statement reads: each is a range of the scan's key, and
 * MariaDB's range optimizer grows slow with many ranges ORed (500 took 3× as long as 20).
 */
export const PREFIXES_PER_LABEL_READ = 20;

/** The statements of Store.prefixes (store/prefix-density.ts). */
export function prefixQueries(query: PrefixQuery) {
  const grouping = prefixGrouping(query);
  const filter = (readsData: boolean) => {
    const { from, key, where, values } = filteredScan(query, readsData);
    const family = prefixFilter(query, { key });
    return { from, key, where: [...where, family.sql].join(' AND '), values: [...values, ...family.values] };
  };
  const counted = filter(false);
  const read = filter(true);
  const { key } = counted;
  const ip = `CAST(${key}.ip AS BINARY(16))`;
  const group = `LEFT(${ip}, ?) AS head, ORD(SUBSTRING(${ip}, ? + 1, 1)) & ? AS tail`;
  const groupValues = [grouping.headBytes, grouping.headBytes, grouping.tailMask];
  return {
    grouping,
    /** The densest prefixes as groups: head, tail, count. */
    groups: {
      sql: `SELECT ${group}, COUNT(*) AS count FROM ${counted.from} WHERE ${counted.where}
        GROUP BY head, tail HAVING COUNT(*) >= ? ORDER BY count DESC, head, tail LIMIT ?`,
      values: [...groupValues, ...counted.values, query.min, query.limit],
    },
    /** The matching records of `ranges` prefixes (each its first and last address, appended to the values): group and label ids. */
    labels: (ranges: number): Sql => ({
      sql: `SELECT ${group}, d.label_ids FROM ${read.from} WHERE ${read.where}
        AND (${Array.from({ length: ranges }, () => `${key}.ip BETWEEN ? AND ?`).join(' OR ')})`,
      values: [...groupValues, ...read.values],
    }),
  };
}
