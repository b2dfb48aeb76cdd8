import { lastAddress } from '../../feed/ip.ts';
import { decodeCursor } from '../cursor.ts';
import type { ListQuery } from '../types.ts';

export interface Sql {
  sql: string;
  values: unknown[];
}

const sameKey = (a: string, b: string): string => `${a}.ip = ${b}.ip AND ${a}.prefix_len = ${b}.prefix_len AND ${a}.feed_id = ${b}.feed_id`;

/**
 * The one statement of a list page, selecting `columns` of ip_data `d`. Labels are found by
 * `label`'s unique key, so the optimizer reads them first as constants and an unknown label
 * empties the result. The first label drives a range scan of ip_label's primary key in key
 * order, the others are primary-key lookups; without labels the range scan is on ip_data.
 * The keyset condition is spelled out, not a row comparison, so that it becomes a range.
 */
export function listQuery(query: ListQuery, columns: string): Sql {
  const from: string[] = [];
  const where: string[] = [];
  const values: unknown[] = [];
  query.labels.forEach(({ kind, value }, i) => {
    from.push(i === 0 ? 'label l0' : `JOIN label l${i}`);
    from.push(`JOIN ip_label k${i} ON k${i}.label_id = l${i}.id${i === 0 ? '' : ` AND ${sameKey(`k${i}`, 'k0')}`}`);
    if (i === 0) from.push(`JOIN ip_data d ON ${sameKey('d', 'k0')}`);
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
  if (query.after) {
    const after = decodeCursor(query.after);
    where.push(`(${key}.ip > ? OR (${key}.ip = ? AND (${key}.prefix_len > ? OR (${key}.prefix_len = ? AND ${key}.feed_id > ?))))`);
    values.push(after.ip, after.ip, after.prefixLen, after.prefixLen, after.feedId);
  }
  // One row more than asked tells whether another page follows.
  values.push(query.limit + 1);
  return {
    sql: `SELECT ${columns} FROM ${from.join(' ')}
          ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY ${key}.ip, ${key}.prefix_len, ${key}.feed_id LIMIT ?`,
    values,
  };
}
