import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyText, parseIpOrNetwork } from '../../src/feed/ip.ts';
import { cidrText, mergedCidrs } from '../../src/export/cidr-ranges.ts';
import type { StoredRecord } from '../../src/store/types.ts';
import { assertExactAndMinimal } from '../helpers/cidr-sets.ts';

/** Records of these keys in the stores' order: by first address, then prefix length. */
function records(keys: string[]): StoredRecord[] {
  const sorted = keys.map((key) => parseIpOrNetwork(key)).sort((a, b) => Buffer.compare(a.bytes, b.bytes) || a.prefixLen - b.prefixLen);
  return sorted.map((ip) => ({ feed: 'anonymous', key: keyText(ip.bytes, ip.prefixLen), context: {}, json: '{}', lastUpdated: 0 }));
}

async function merged(keys: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const cidr of mergedCidrs(toAsync(records(keys)))) out.push(cidrText(cidr));
  return out;
}

async function* toAsync<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

test('adjacent addresses become the fewest CIDRs; a gap splits them', async () => {
  assert.deepEqual(await merged(['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3']), ['10.0.0.0/30']);
  assert.deepEqual(await merged(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']), ['10.0.0.1', '10.0.0.2/31', '10.0.0.4']);
  assert.deepEqual(await merged(['10.0.0.0', '10.0.0.1', '10.0.0.3']), ['10.0.0.0/31', '10.0.0.3']);
  assert.deepEqual(await merged(['10.0.0.255', '10.0.1.0']), ['10.0.0.255', '10.0.1.0'], 'touching, not one CIDR');
});

test('networks and addresses inside or overlapping them, and the same key twice, become their union', async () => {
  assert.deepEqual(await merged(['10.1.0.0/24', '10.1.0.7', '10.1.0.128/25', '10.1.1.0/24', '10.1.0.7']), ['10.1.0.0/23']);
  assert.deepEqual(await merged(['10.2.0.0/25', '10.2.0.128', '10.2.0.129/32']), ['10.2.0.0/25', '10.2.0.128/31']);
  assert.deepEqual(await merged(['0.0.0.0/0', '1.2.3.4']), ['0.0.0.0/0']);
});

test('IPv6, IPv4 beside it, and the edges of the space', async () => {
  assert.deepEqual(await merged(['2001:db8::', '2001:db8::1', '2001:db8::3', '2001:db8:1::/48', '2001:db8:1:5::/64', '192.0.2.1']), [
    '192.0.2.1',
    '2001:db8::/127',
    '2001:db8::3',
    '2001:db8:1::/48',
  ]);
  assert.deepEqual(await merged(['ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']), [
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127',
  ]);
  assert.deepEqual(await merged(['::', '::1']), ['::/127']);
  assert.deepEqual(await merged(['255.255.255.255', '255.255.255.254', '::1:0:0:0']), ['255.255.255.254/31', '::1:0:0:0']);
});

test('exact and minimal on random sets of addresses and networks', async () => {
  // A small seeded generator: the same cases on every run.
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const keys = Array.from({ length: 1 + random(40) }, () => {
      const len = 24 + random(9);
      return parseIpOrNetwork(`10.9.${random(4)}.${random(256)}/${len}`).text.replace(/\/32$/, '');
    });
    const cidrs = await merged(keys);
    assertExactAndMinimal(cidrs, keys);
  }
});

test('records out of address order are refused, not merged wrongly', async () => {
  const [a, b] = records(['10.0.0.1', '10.0.0.9']);
  await assert.rejects(async () => {
    for await (const _ of mergedCidrs(toAsync([b!, a!])));
  }, /out of address order at 10\.0\.0\.1/);
});
