import { FULL_PREFIX, maskBytes, networkContains, type CanonicalIp } from '../feed/ip.ts';
import type { LoadRecord } from '../feed/record.ts';
import { toStoredRecord, type DataRow } from './rows.ts';
import type { StoredRecord } from './types.ts';

/*
 * Exact containment for lookups. Networks may nest (a /64 inside a /48, in one feed or
 * across feeds), so a lookup cannot stop at the nearest network below the address. Each
 * store keeps the set of network prefix lengths it holds (table network_length, a handful
 * of rows); a stored network of length L contains the address only if it starts at the
 * address masked to L, so one primary-key probe per length finds every containing network.
 */

/** Where a lookup probes: the address itself and its network start at every stored length. */
export function probeStarts(address: CanonicalIp, lengths: readonly number[]): Buffer[] {
  const starts = new Map<string, Buffer>([[address.bytes.toString('hex'), address.bytes]]);
  for (const length of lengths) {
    if (length >= FULL_PREFIX) continue;
    const start = maskBytes(address.bytes, length);
    starts.set(start.toString('hex'), start);
  }
  return [...starts.values()];
}

/** Where a lookup of several addresses probes: each address's starts, and all of them once. */
export interface ProbePlan {
  perAddress: Buffer[][];
  /** The distinct starts of all the addresses, in first-seen order: what the store reads. */
  distinct: Buffer[];
}

export function probePlan(addresses: readonly CanonicalIp[], lengths: readonly number[]): ProbePlan {
  const perAddress = addresses.map((address) => probeStarts(address, lengths));
  const distinct = new Map<string, Buffer>();
  for (const starts of perAddress) for (const start of starts) distinct.set(start.toString('hex'), start);
  return { perAddress, distinct: [...distinct.values()] };
}

/**
 * For each address, the rows read at its probe starts that hold it, in the answer's order: its own
 * records first, then containing networks from the longest prefix to the shortest, ties by
 * feed id. `rows` may hold rows of other addresses' probes and rows starting at a probe
 * without containing the address; both are left out.
 */
export function containingRecords(rows: readonly DataRow[], addresses: readonly CanonicalIp[], plan: ProbePlan): StoredRecord[][] {
  const byStart = new Map<string, DataRow[]>();
  for (const row of rows) {
    const key = row.ip.toString('hex');
    const list = byStart.get(key);
    if (list) list.push(row);
    else byStart.set(key, [row]);
  }
  return addresses.map((address, i) =>
    plan.perAddress[i]!.flatMap((start) => byStart.get(start.toString('hex')) ?? [])
      .filter((row) => networkContains(row.ip, row.prefix_len, address.bytes))
      .sort((a, b) => b.prefix_len - a.prefix_len || a.feed_id - b.feed_id)
      .map(toStoredRecord),
  );
}

/** Parses the `GROUP_CONCAT` / list of stored network lengths; null or '' is none. */
export function parseLengths(text: string | null): number[] {
  return text ? text.split(',').map(Number) : [];
}

/**
 * The network lengths one import leaves its feed with, for network_length: the lengths of
 * what it wrote are added; a length some deleted record had is dropped when no record of the
 * feed has it any more (the store checks, once the deletes are applied).
 */
export class NetworkLengthTracker {
  readonly #written = new Set<number>();
  readonly #gone = new Set<number>();

  written(records: readonly LoadRecord[]): void {
    for (const { address } of records) if (address.prefixLen < FULL_PREFIX) this.#written.add(address.prefixLen);
  }

  gone(lengths: readonly number[]): void {
    for (const length of lengths) if (length < FULL_PREFIX) this.#gone.add(length);
  }

  /** `add`: lengths to store; `check`: lengths to remove unless a stored record still has them. */
  result(): { add: number[]; check: number[] } {
    const ascending = (set: Iterable<number>) => [...set].sort((a, b) => a - b);
    return { add: ascending(this.#written), check: ascending([...this.#gone].filter((length) => !this.#written.has(length))) };
  }
}
