import { lastAddress } from '../../feed/ip.ts';
import { decodeCursor } from '../cursor.ts';
import type { ListQuery } from '../types.ts';

/** The ip_data columns every read selects, as rows.ts's DataRow. */
export const RECORD_COLUMNS = 'd.ip, d.prefix_len, d.feed_id, d.ip_text, d.context, d.last_updated';

/**
 * The one statement of a list page selecting `columns` of ip_data `d`, for labels already resolved to ids. The first label
 * drives an index range scan of ip_label's key in key order, the others are key lookups;
 * without labels the range scan is on ip_data_key. A record is inside `within` when its
 * first address is and its prefix is at least as long, so its whole range is.
 */
export function sqliteListQuery(
  labelIds: readonly number[],
  query: ListQuery,
  columns = RECORD_COLUMNS,
): { sql: string; params: unknown[] } {
  const [driver, ...others] = labelIds;
  const from =
    driver === undefined
      ? 'ip_data d'
      : 'ip_label k JOIN ip_data d ON d.ip = k.ip AND d.prefix_len = k.prefix_len AND d.feed_id = k.feed_id';
  const key = driver === undefined ? 'd' : 'k';
  const where: string[] = [];
  const params: unknown[] = [];
  if (driver !== undefined) {
    where.push('k.label_id = ?');
    params.push(driver);
  }
  for (const id of others) {
    where.push(
      `EXISTS (SELECT 1 FROM ip_label o WHERE o.label_id = ? AND o.ip = ${key}.ip AND o.prefix_len = ${key}.prefix_len AND o.feed_id = ${key}.feed_id)`,
    );
    params.push(id);
  }
  if (query.within) {
    where.push(`${key}.ip BETWEEN ? AND ? AND ${key}.prefix_len >= ?`);
    params.push(query.within.bytes, lastAddress(query.within.bytes, query.within.prefixLen), query.within.prefixLen);
  }
  if (query.after) {
    const after = decodeCursor(query.after);
    where.push(`(${key}.ip, ${key}.prefix_len, ${key}.feed_id) > (?, ?, ?)`);
    params.push(after.ip, after.prefixLen, after.feedId);
  }
  // One row more than asked tells whether another page follows.
  params.push(query.limit + 1);
  const sql = `SELECT ${columns} FROM ${from}
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${key}.ip, ${key}.prefix_len, ${key}.feed_id LIMIT ?`;
  return { sql, params };
}
