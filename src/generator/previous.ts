import { isUtf8 } from 'node:buffer';
import { FULL_PREFIX, type CanonicalIp } from '../feed/ip.ts';
import { ipv4Text, PrefixAllocator, type AddressKey, type AddressKind } from './addresses.ts';
import { Ipv4Set } from './ipv4-set.ts';
import { lineAddress, loadValidator, quickAddress, validatedRecord, type LineAddress } from './line-address.ts';
import { eachLine, lineBlocks } from './line-blocks.ts';

/** The addresses of the previous day's feed: what next-day additions must not reuse. */
export interface PreviousFeed {
  /** Records: lines an importer stores (not the blank lines, nor those it skips). With `keepDuplicates`, every line of a repeated address counts. */
  count: number;
  /** Records by the kind of their address; a network holding IPv4 addresses counts as `ipv4`. */
  kinds: Record<AddressKind, number>;
  /** Numbers of the lines that are no record, ascending: the next day leaves them out. */
  nonRecords: readonly number[];
  /** Whether the address is in the previous feed. */
  has(key: AddressKey): boolean;
  /** Allocator with every block of the previous feed taken, for additions in fresh ranges. */
  allocator: PrefixAllocator;
}

/**
 * One pass over the previous feed (line-address.ts says how lines are read). Single IPv4
 * addresses go to an Ipv4Set, everything else to a Set of canonical texts: bounded, and
 * fine for a test-data tool. Keys are the importer's: "192.0.2.1/32" is "192.0.2.1". A
 * duplicate address is an error: whether an importer keeps the first or the last copy
 * decides the diff, so the expected counts would be a guess. With `keepDuplicates` (for a
 * reader that takes the lines as they come) each copy counts as a record.
 */
export async function indexPreviousFeed(path: string, { keepDuplicates = false } = {}): Promise<PreviousFeed> {
  const ipv4 = new Ipv4Set();
  const others = new Set<string>();
  const allocator = new PrefixAllocator();
  const nonRecords: number[] = [];
  const kinds: Record<AddressKind, number> = { ipv4: 0, ipv6: 0, network6: 0 };
  let duplicates = 0;
  const repeated = (address: string): void => {
    if (!keepDuplicates) throw duplicate(path, address);
    duplicates += 1;
  };
  const add = (address: LineAddress): void => {
    if (typeof address === 'number') {
      if (!ipv4.add(address)) repeated(ipv4Text(address));
    } else {
      const key = addressKey(address);
      if (others.has(key)) repeated(address.text);
      others.add(key);
    }
    kinds[addressKind(address)] += 1;
    allocator.reserve(address);
  };
  let line = 0;
  for await (const block of lineBlocks(path)) {
    const utf8 = isUtf8(block.bytes);
    const unread: Array<[start: number, end: number, line: number, unterminated: boolean]> = [];
    eachLine(block, (start, end, unterminated) => {
      line += 1;
      const address = quickAddress(block.bytes, start, end, utf8);
      if (address === undefined) unread.push([start, end, line, unterminated]);
      else add(address);
    });
    if (unread.length > 0) await loadValidator();
    for (const [start, end, at, unterminated] of unread) {
      const record = validatedRecord(block.bytes, start, end, at, unterminated);
      if (record === undefined) nonRecords.push(at);
      else add(lineAddress(record));
    }
  }
  return {
    count: ipv4.size + others.size + duplicates,
    kinds,
    nonRecords,
    has: (key) => (typeof key === 'number' ? ipv4.has(key) : others.has(key)),
    allocator,
  };
}

/** The address's key, as addresses.ts forms it for neighbors: an importer takes an IPv6 /128 network for the address. */
function addressKey(address: CanonicalIp): string {
  return address.prefixLen === FULL_PREFIX ? address.text.replace(/\/128$/, '') : address.text;
}

function addressKind(address: LineAddress): AddressKind {
  if (typeof address === 'number' || address.family === 4) return 'ipv4';
  return address.prefixLen === FULL_PREFIX ? 'ipv6' : 'network6';
}

function duplicate(path: string, address: string): Error {
  return new Error(`previous feed ${path} lists ${address} more than once; next-day counts would be ambiguous`);
}
