import type { FeedRecord } from '../feed/record.ts';
import { recordKey } from '../store/types.ts';

export interface BatchChanges {
  inserts: FeedRecord[];
  updates: FeedRecord[];
  unchanged: number;
}

/** Splits a batch into what the store lacks, what it holds differently, and what it holds as is. */
export function classifyBatch(records: FeedRecord[], stored: Map<string, Buffer>): BatchChanges {
  const changes: BatchChanges = { inserts: [], updates: [], unchanged: 0 };
  for (const record of records) {
    const hash = stored.get(recordKey(record.address));
    if (hash === undefined) changes.inserts.push(record);
    else if (!hash.equals(record.hash)) changes.updates.push(record);
    else changes.unchanged += 1;
  }
  return changes;
}
