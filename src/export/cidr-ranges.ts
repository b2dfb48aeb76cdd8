import { isIpv4Mapped, keyText, parseIpOrNetwork } from '../feed/ip.ts';
import type { StoredRecord } from '../store/types.ts';

/** One network of an export, in IPoid's 128-bit space (IPv4 IPv4-mapped). */
export interface Cidr {
  /** First address. */
  start: bigint;
  /** 128 for one address, 96+n for an IPv4 /n. */
  prefixLen: number;
}

const BITS = 128;
const IPV4_OFFSET = 96;

const bigintOf = (bytes: Buffer): bigint => BigInt(`0x${bytes.toString('hex')}`);
const bytesOf = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(32, '0'), 'hex');
const hostMask = (prefixLen: number): bigint => (1n << BigInt(BITS - prefixLen)) - 1n;

/** The address or network text of a CIDR: a dotted quad (with /n for IPv4 networks), or canonical IPv6. */
export function cidrText(cidr: Cidr): string {
  return keyText(bytesOf(cidr.start), cidr.prefixLen);
}

/** IPv4 when the network lies inside ::ffff:0:0/96; any other network is IPv6. */
export function cidrFamily(cidr: Cidr): 4 | 6 {
  return cidr.prefixLen >= IPV4_OFFSET && isIpv4Mapped(bytesOf(cidr.start)) ? 4 : 6;
}

/**
 * The fewest CIDRs covering exactly the union of the records' ranges, in address order. The
 * records must come in the order of their first address (as the stores list them), so that
 * ranges that overlap or touch follow one another: each run of them is one range, written as
 * the fewest CIDRs that tile it. Two CIDRs of different runs never touch, so none could merge.
 */
export async function* mergedCidrs(records: AsyncIterable<StoredRecord>): AsyncGenerator<Cidr> {
  // The run of ranges so far: first..last; previous: the start of the record before.
  let run: { first: bigint; last: bigint } | undefined;
  let previous = -1n;
  for await (const record of records) {
    const network = parseIpOrNetwork(record.key);
    const start = bigintOf(network.bytes);
    const end = start | hostMask(network.prefixLen);
    if (start < previous) throw new Error(`records out of address order at ${record.key}`);
    previous = start;
    if (run && start <= run.last + 1n) {
      if (end > run.last) run.last = end;
      continue;
    }
    if (run) yield* rangeCidrs(run.first, run.last);
    run = { first: start, last: end };
  }
  if (run) yield* rangeCidrs(run.first, run.last);
}

/** The fewest CIDRs tiling first..last: from the left, each time the largest block aligned at its start that fits. */
export function* rangeCidrs(first: bigint, last: bigint): Generator<Cidr> {
  for (let start = first; start <= last;) {
    const bits = Math.min(trailingZeros(start), bitLength(last - start + 1n) - 1);
    yield { start, prefixLen: BITS - bits };
    start += 1n << BigInt(bits);
  }
}

function trailingZeros(value: bigint): number {
  if (value === 0n) return BITS;
  let zeros = 0;
  while ((value & (1n << BigInt(zeros))) === 0n) zeros++;
  return zeros;
}

const bitLength = (value: bigint): number => value.toString(2).length;
