import assert from 'node:assert/strict';
import { parseIpOrNetwork } from '../../src/feed/ip.ts';

/*
 * Checks of an aggregated export against the records it comes from, in the 128-bit space
 * (IPv4 IPv4-mapped), by arithmetic of its own: what the lines cover, and whether any two
 * lines could have been one.
 */

type Range = [first: bigint, last: bigint];

function rangeOf(text: string): Range {
  const { bytes, prefixLen } = parseIpOrNetwork(text);
  const first = BigInt(`0x${bytes.toString('hex')}`);
  return [first, first + (1n << BigInt(128 - prefixLen)) - 1n];
}

/** The union of the addresses and networks, as sorted disjoint ranges (touching ones joined). */
export function union(texts: readonly string[]): Range[] {
  const ranges = texts.map(rangeOf).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const joined: Range[] = [];
  for (const [first, last] of ranges) {
    const top = joined.at(-1);
    if (top && first <= top[1] + 1n) top[1] = last > top[1] ? last : top[1];
    else joined.push([first, last]);
  }
  return joined;
}

/**
 * The CIDRs cover exactly the keys' addresses (every exported address is in a record and
 * every record's address is exported), in address order, none overlapping another, and no
 * two of the same length forming the next shorter CIDR (which one line would write).
 */
export function assertExactAndMinimal(cidrs: readonly string[], keys: readonly string[]): void {
  assert.deepEqual(union(cidrs), union(keys), 'the CIDRs cover exactly the records');
  const ranges = cidrs.map(rangeOf);
  for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]![0] > ranges[i - 1]![1], `${cidrs[i]} after ${cidrs[i - 1]}, apart`);
  const seen = new Set(cidrs.map((c) => rangeOf(c).join('-')));
  ranges.forEach(([first, last], i) => {
    const size = last - first + 1n;
    const sibling = (first / size) % 2n === 0n ? [first + size, last + size] : [first - size, first - 1n];
    assert.ok(!seen.has(sibling.join('-')), `${cidrs[i]} and its sibling would be one CIDR`);
  });
}
