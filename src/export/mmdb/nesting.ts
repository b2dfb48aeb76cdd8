import { networkContains, parseIpOrNetwork } from '../../feed/ip.ts';
import type { StoredRecord } from '../../store/types.ts';

/** One stored key and its records, one per feed, in feed order. */
export interface KeyRecords {
  key: string;
  /** 16 bytes, IPv4 mapped, as the store orders them. */
  bytes: Buffer;
  /** In the 128-bit space (96 + n for an IPv4 /n). */
  prefixLen: number;
  records: StoredRecord[];
}

/** Address-ordered records grouped by key; refuses records out of order, which would nest wrongly. */
async function* byKey(records: AsyncIterable<StoredRecord>): AsyncGenerator<KeyRecords> {
  let current: KeyRecords | undefined;
  for await (const record of records) {
    if (current?.key === record.key) {
      current.records.push(record);
      continue;
    }
    const { bytes, prefixLen } = parseIpOrNetwork(record.key);
    if (current) {
      const order = Buffer.compare(current.bytes, bytes) || current.prefixLen - prefixLen;
      if (order >= 0) throw new Error(`records out of address order: ${record.key} after ${current.key}`);
      yield current;
    }
    current = { key: record.key, bytes, prefixLen, records: [record] };
  }
  if (current) yield current;
}

/**
 * Each key with every record a lookup inside it merges, in the lookup's order: the key's own
 * records, then those of the networks enclosing it, innermost first. In address order an
 * enclosing network comes before the networks inside it, so the networks still open form a
 * stack: those that do not hold the next key are closed, the rest all hold it.
 */
export async function* withEnclosing(records: AsyncIterable<StoredRecord>): AsyncGenerator<{ key: KeyRecords; merged: StoredRecord[] }> {
  const open: KeyRecords[] = [];
  for await (const key of byKey(records)) {
    while (open.length > 0 && !networkContains(open.at(-1)!.bytes, open.at(-1)!.prefixLen, key.bytes)) open.pop();
    const merged = [...key.records];
    for (let i = open.length - 1; i >= 0; i--) merged.push(...open[i]!.records);
    yield { key, merged };
    open.push(key);
  }
}
