import { createHash } from 'node:crypto';
import type { Store } from '../../src/store/types.ts';

/**
 * Everything stored, every feed, read in ONE statement (one snapshot), as `count:digest`:
 * two snapshots are equal only if every record, its context and its last update are.
 */
export async function storedSnapshot(store: Store): Promise<string> {
  const { records } = await store.list({ labels: [], limit: 10_000_000 });
  const hash = createHash('sha256');
  for (const r of records) hash.update(`${r.feed} ${r.key} ${r.lastUpdated} ${JSON.stringify(r.context)}\n`);
  return `${records.length}:${hash.digest('hex')}`;
}

/** The number of records in a snapshot. */
export const snapshotCount = (snapshot: string): number => Number(snapshot.split(':')[0]);
