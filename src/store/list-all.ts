import type { ListQuery, Store, StoredRecord } from './types.ts';

const PAGE_SIZE = 1000;

/**
 * Every record matching a query, fetched one keyset page at a time so that a result of any
 * size streams in bounded memory; stops after `max` records when given.
 */
export async function* listAll(store: Store, query: Omit<ListQuery, 'limit' | 'after'>, max = Infinity): AsyncGenerator<StoredRecord> {
  let after: string | undefined;
  let remaining = max;
  while (remaining > 0) {
    const page = await store.list({ ...query, limit: Math.min(PAGE_SIZE, remaining), after });
    for (const record of page.records) yield record;
    remaining -= page.records.length;
    if (!page.next) return;
    after = page.next;
  }
}
