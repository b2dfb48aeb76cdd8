import type { SpurRecord } from '../feed/schema.ts';
import { clusterAddresses, MAX_CLUSTER_SIZE, PrefixAllocator, type AddressKind } from './addresses.ts';
import { clusterProfile } from './profiles.ts';
import { clusterJson, recordLine } from './records.ts';
import { createRandom, weighted, type Random } from './random.ts';

/** What a generated feed holds, and how it differs from the feed it was derived from. */
export interface GenerateSummary {
  /** Records in the written feed. */
  records: number;
  /** Previous records absent from the new feed (an importer's deletes). */
  removed: number;
  /** Previous records whose JSON changed (an importer's updates). */
  changed: number;
  /** Records whose address was not in the previous feed (an importer's inserts). */
  added: number;
  /** Previous records carried over byte for byte. */
  unchanged: number;
}

export interface GenerateOptions {
  count: number;
  /** Integer in [0, 2^32 - 1]; the same seed always gives the same feed. */
  seed: number;
}

/** Share of records per address kind, as in Spur's anonymous and anonymous-ipv6 feeds. */
const KIND_SHARES: ReadonlyArray<readonly [AddressKind, number]> = [
  ['ipv4', 0.9],
  ['ipv6', 0.07],
  ['network6', 0.03],
];

/** Hosts per cluster: many lone addresses, most in mid-sized ranges, some nearly full /24s. */
const CLUSTER_SIZES = weighted<readonly [number, number]>([
  [[1, 5], 0.3],
  [[6, 60], 0.5],
  [[61, MAX_CLUSTER_SIZE], 0.2],
]);

/**
 * Streams `count` JSON lines (without newlines) with unique addresses, cluster by cluster.
 * Memory is one cluster's addresses plus the allocator's block map, whatever the count.
 */
export function generateLines(options: GenerateOptions): Generator<string> {
  if (!Number.isSafeInteger(options.count) || options.count < 0) {
    throw new RangeError(`count must be a non-negative integer, got ${options.count}`);
  }
  return generateRecordLines(options.count, createRandom(options.seed), new PrefixAllocator());
}

/** The records of generateLines, as objects (for tests and callers that inspect them). */
export function generateFeed(options: GenerateOptions): Generator<SpurRecord> {
  const lines = generateLines(options);
  return (function* () {
    for (const line of lines) yield JSON.parse(line) as SpurRecord;
  })();
}

/** The generator proper; next-day mode runs it with blocks of the previous feed reserved. */
export function* generateRecordLines(count: number, rng: Random, allocator: PrefixAllocator): Generator<string> {
  const produced = new Map<AddressKind, number>(KIND_SHARES.map(([kind]) => [kind, 0]));
  let total = 0;
  while (total < count) {
    const kind = nextKind(produced, total);
    const [min, max] = rng.pickWeighted(CLUSTER_SIZES);
    const size = Math.min(rng.int(min, max), count - total);
    const cluster = clusterJson(clusterProfile(rng));
    for (const address of clusterAddresses(kind, size, rng, allocator)) yield recordLine(cluster, kind, address, rng);
    produced.set(kind, produced.get(kind)! + size);
    total += size;
  }
}

/**
 * The kind furthest below its share so far: keeps the mix on target even in small feeds,
 * where drawing kinds at random could leave out IPv6 networks altogether.
 */
function nextKind(produced: ReadonlyMap<AddressKind, number>, total: number): AddressKind {
  let best = KIND_SHARES[0]![0];
  let bestDeficit = -Infinity;
  for (const [kind, share] of KIND_SHARES) {
    const deficit = share * total - produced.get(kind)!;
    if (deficit > bestDeficit) {
      best = kind;
      bestDeficit = deficit;
    }
  }
  return best;
}
