import { createHash } from 'node:crypto';
import type { Store, StoredRecord } from '../../src/store/types.ts';

/**
 * Every record of every feed with its context and last_updated, read in ONE statement (one
 * snapshot): what a failed import must leave exactly as it was.
 */
export async function storedRecords(store: Store): Promise<StoredRecord[]> {
  return (await store.list({ labels: [], limit: 10_000_000 })).records;
}

/** The stored records as `count:digest`: two are equal only if every record and its last update are. */
export async function storedSnapshot(store: Store): Promise<string> {
  const records = await storedRecords(store);
  const hash = createHash('sha256');
  for (const r of records) hash.update(`${r.feed} ${r.key} ${r.lastUpdated} ${JSON.stringify(r.context)}\n`);
  return `${records.length}:${hash.digest('hex')}`;
}
