import { encodeCursor } from './cursor.ts';
import { toStoredRecord, type DataRow } from './rows.ts';
import type { ListPage } from './types.ts';

/**
 * A list page from the rows of a query that asked for `limit + 1`: the extra row only tells
 * that another page follows, whose cursor is the last key of this one.
 */
export function keysetPage(rows: readonly DataRow[], limit: number): ListPage {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    records: page.map(toStoredRecord),
    next: rows.length > limit && last ? encodeCursor({ ip: last.ip, prefixLen: last.prefix_len, feedId: last.feed_id }) : undefined,
  };
}
