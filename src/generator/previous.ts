import { readFeed } from '../feed/reader.ts';
import { ipv4Text, PrefixAllocator } from './addresses.ts';

/** The addresses of the previous day's feed: what next-day additions must not reuse. */
export interface PreviousFeed {
  /** Valid records (lines readFeed skips are not part of the feed an importer sees). */
  count: number;
  /** Whether the canonical address text is in the previous feed. */
  has(address: string): boolean;
  /** Allocator with every block of the previous feed taken, for additions in fresh ranges. */
  allocator: PrefixAllocator;
}

const IPV4_TEXT = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/;

/**
 * One pass over the previous feed. IPv4 addresses go to a sorted Uint32Array (4 bytes each),
 * everything else to a Set of canonical texts: bounded, and fine for a test-data tool.
 * A duplicate address is an error: whether an importer keeps the first or the last copy
 * decides the diff, so the expected counts would be a guess.
 */
export async function indexPreviousFeed(path: string): Promise<PreviousFeed> {
  let ipv4: Uint32Array = new Uint32Array(1 << 16);
  let ipv4Count = 0;
  const others = new Set<string>();
  const allocator = new PrefixAllocator();
  for await (const line of readFeed(path)) {
    if (!line.ok) continue;
    const { address } = line.record;
    allocator.reserve(address);
    if (address.family === 4 && address.prefixLen === 128) {
      if (ipv4Count === ipv4.length) ipv4 = grow(ipv4);
      ipv4[ipv4Count++] = address.bytes.readUInt32BE(12);
    } else {
      if (others.has(address.text)) throw duplicate(path, address.text);
      others.add(address.text);
    }
  }
  const sorted = ipv4.slice(0, ipv4Count).sort(); // slice: drop the spare growth room
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) throw duplicate(path, ipv4Text(sorted[i]!));
  return {
    count: ipv4Count + others.size,
    has: (text) => {
      const m = IPV4_TEXT.exec(text);
      if (!m) return others.has(text);
      return binarySearch(sorted, ((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0);
    },
    allocator,
  };
}

function grow(array: Uint32Array): Uint32Array {
  const bigger = new Uint32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

function binarySearch(sorted: Uint32Array, value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function duplicate(path: string, address: string): Error {
  return new Error(`previous feed ${path} lists ${address} more than once; next-day counts would be ambiguous`);
}
