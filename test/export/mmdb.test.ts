import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Reader } from 'mmdb-lib';
import { ipoidAnswer, shaped } from '../../src/api/ipoid-shape.ts';
import { DataSection, double, uint16, uint32, uint64, type DataValue } from '../../src/export/mmdb/data-section.ts';
import { mmdbFile } from '../../src/export/mmdb/index.ts';
import { metadataSection } from '../../src/export/mmdb/metadata.ts';
import { DATA_SECTION_SEPARATOR, SearchTree } from '../../src/export/mmdb/tree.ts';
import { FEED_TYPES, type FeedType } from '../../src/feed/feed-types.ts';
import { addressText, keyText, lastAddress, maskBytes, networkContains, parseIp, parseIpOrNetwork } from '../../src/feed/ip.ts';
import type { SpurRecord } from '../../src/feed/schema.ts';
import { createRandom } from '../../src/generator/random.ts';
import type { StoredRecord } from '../../src/store/types.ts';

/*
 * The mmdb export read back with mmdb-lib, the reader under the `maxmind` npm package: what a
 * reader finds for an address must be what `GET /feed/v1/ip/{ip}` answers for it.
 */

const OPTIONS = { description: 'IPoid test export', buildEpoch: new Date('2026-05-04T03:02:01Z') };

function stored(feed: FeedType, key: string, context: SpurRecord, lastUpdated = 1_700_000_000): StoredRecord {
  return { feed, key, context, json: JSON.stringify(context), lastUpdated };
}

/** Records in the store's order (address bytes, prefix length, feed), as listAll yields them. */
function storeOrder(records: StoredRecord[]): StoredRecord[] {
  const sortKey = (r: StoredRecord) => {
    const { bytes, prefixLen } = parseIpOrNetwork(r.key);
    return { bytes, prefixLen, feed: FEED_TYPES.indexOf(r.feed) };
  };
  return records
    .map((record) => ({ record, key: sortKey(record) }))
    .sort((a, b) => Buffer.compare(a.key.bytes, b.key.bytes) || a.key.prefixLen - b.key.prefixLen || a.key.feed - b.key.feed)
    .map(({ record }) => record);
}

async function* iterate<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

async function fileOf(records: StoredRecord[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of mmdbFile(iterate(records), OPTIONS)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function readerOf(records: StoredRecord[]): Promise<Reader<any>> {
  return new Reader<any>(await fileOf(records));
}

/**
 * What the API answers for `ip` from these records, without the lookup's own fields (`ip`,
 * `network`), `feeds` always present: the store's lookup order (own record first, longest
 * prefix first, then feed) through the API's own merge.
 */
function apiAnswer(records: StoredRecord[], ip: string): Record<string, unknown> | null {
  const address = parseIp(ip).bytes;
  const holding = records
    .map((record) => ({ record, network: parseIpOrNetwork(record.key) }))
    .filter(({ network }) => networkContains(network.bytes, network.prefixLen, address))
    .sort((a, b) => b.network.prefixLen - a.network.prefixLen || FEED_TYPES.indexOf(a.record.feed) - FEED_TYPES.indexOf(b.record.feed))
    .map(({ record }) => record);
  if (holding.length === 0) return null;
  const { ip: _ip, network: _network, feeds, ...answer } = ipoidAnswer(holding.map(shaped), ip);
  return { feeds: feeds ?? [holding[0]!.feed], ...answer };
}

/** The data section's size: from after the tree and its separator to the metadata marker. */
function dataSectionSize(file: Buffer): number {
  const { searchTreeSize } = new Reader<any>(file).metadata;
  return file.lastIndexOf(Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1')) - searchTreeSize - DATA_SECTION_SEPARATOR;
}

describe('mmdb export', () => {
  test('IPv4 and IPv6 addresses and networks are found with their labels, their neighbours are not', async () => {
    const records = storeOrder([
      stored('anonymous', '192.0.2.1', {
        organization: 'Example VPN',
        risks: ['TUNNEL'],
        tunnels: [{ operator: 'EXAMPLE_VPN', type: 'VPN' }],
        client: { count: 3, countries: 2, types: ['DESKTOP'], proxies: ['P'], behaviors: ['B'], concentration: { density: 0.25, skew: 7 } },
        location: { country: 'DE' },
      }),
      stored('anonymous', '198.51.100.0/24', { risks: ['CALLBACK_PROXY'] }),
      stored('anonymous-ipv6', '2001:db8::5', { organization: 'Six' }),
      stored('anonymous-ipv6', '2001:db8:1::/48', { risks: ['TUNNEL'] }),
    ]);
    const reader = await readerOf(records);

    assert.deepEqual(reader.get('192.0.2.1'), {
      feeds: ['anonymous'],
      org: 'Example VPN',
      client_count: 3,
      types: ['DESKTOP'],
      conc_city: '',
      conc_state: '',
      conc_country: '',
      countries: 2,
      location_country: 'DE',
      risks: ['TUNNEL'],
      last_updated: 1_700_000_000,
      proxies: ['P'],
      behaviors: ['B'],
      tunnels: ['EXAMPLE_VPN'],
      conc_skew: 7,
      conc_density: 0.25,
    });
    for (const ip of [
      '192.0.2.1',
      '198.51.100.0',
      '198.51.100.77',
      '198.51.100.255',
      '2001:db8::5',
      '2001:db8:1::',
      '2001:db8:1:ffff::1',
    ]) {
      assert.deepEqual(reader.get(ip), apiAnswer(records, ip), ip);
    }
    assert.equal(reader.getWithPrefixLength('198.51.100.77')[1], 24, 'the reader names the matched network');
    assert.equal(reader.getWithPrefixLength('2001:db8:1:2::3')[1], 48);
    for (const ip of [
      '192.0.2.0',
      '192.0.2.2',
      '198.51.99.255',
      '198.51.101.0',
      '2001:db8::4',
      '2001:db8::6',
      '2001:db8:0:ffff::',
      '2001:db8:2::',
      '::1',
    ]) {
      assert.equal(reader.get(ip), null, ip);
    }
  });

  test('an IPv4 address is found in its IPv4-mapped and IPv4-compatible IPv6 spellings too', async () => {
    const reader = await readerOf([stored('anonymous', '203.0.113.9', { organization: 'Mapped' })]);
    for (const ip of ['203.0.113.9', '::ffff:203.0.113.9', '::203.0.113.9']) assert.equal(reader.get(ip)?.org, 'Mapped', ip);
    for (const ip of ['203.0.113.8', '::ffff:203.0.113.8', '::203.0.113.8', '::1:203.0.113.9']) assert.equal(reader.get(ip), null, ip);
  });

  test('IPv6 keys inside ::/96 are left out: readers look IPv4 up there', async () => {
    const records = storeOrder([
      stored('anonymous-ipv6', '::5', { organization: 'compatible' }),
      stored('anonymous-ipv6', '::1:0:0/96', { organization: 'beside' }),
      stored('anonymous', '0.0.0.5', { organization: 'IPv4' }),
    ]);
    const reader = await readerOf(records);
    assert.equal(reader.get('0.0.0.5')?.org, 'IPv4');
    assert.equal(reader.get('::5')?.org, 'IPv4');
    assert.equal(reader.get('::1:0:5')?.org, 'beside');
  });

  test('a /0 holds every address, IPv4 too, as the API finds it', async () => {
    const records = [
      stored('anonymous-ipv6', '::/0', { organization: 'everything', risks: ['ALL'] }),
      stored('anonymous-ipv6', '2001:db8::1', { risks: ['ONE'] }),
    ];
    const reader = await readerOf(records);
    for (const ip of ['2001:db8::1', '2001:db8::2', '8000::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '1.2.3.4', '255.255.255.255']) {
      assert.deepEqual(reader.get(ip), apiAnswer(records, ip), ip);
    }
    assert.equal(reader.get('8000::1')?.org, 'everything');
  });

  test('a network inside another carries both merged; the rest of the enclosing one carries its own', async () => {
    const records = storeOrder([
      stored('anonymous-ipv6', '2001:db8::/48', { organization: 'Outer', risks: ['R48'], tunnels: [{ operator: 'OP48' }] }, 100),
      stored('anonymous-ipv6', '2001:db8::/64', { organization: 'Inner', risks: ['R64'] }, 300),
      stored('anonymous-residential-ipv6', '2001:db8::1', { risks: ['R128'], client: { count: 9 } }, 200),
      stored('anonymous', '10.1.0.0/16', { risks: ['R16'], location: { country: 'FR' } }, 100),
      stored('anonymous', '10.1.2.0/24', { risks: ['R24'] }, 50),
    ]);
    const reader = await readerOf(records);
    assert.deepEqual(reader.get('2001:db8::1'), {
      ...apiAnswer(records, '2001:db8::1'),
      feeds: ['anonymous-residential-ipv6', 'anonymous-ipv6'],
      org: '',
      client_count: 9,
      risks: ['R128', 'R64', 'R48'],
      tunnels: ['OP48'],
      last_updated: 300,
    });
    assert.deepEqual(reader.get('2001:db8::2'), {
      ...apiAnswer(records, '2001:db8::2'),
      org: 'Inner',
      risks: ['R64', 'R48'],
      last_updated: 300,
    });
    assert.deepEqual(reader.get('2001:db8:0:1::'), {
      ...apiAnswer(records, '2001:db8:0:1::'),
      org: 'Outer',
      risks: ['R48'],
      last_updated: 100,
    });
    assert.deepEqual(reader.get('10.1.2.3'), {
      ...apiAnswer(records, '10.1.2.3'),
      risks: ['R24', 'R16'],
      location_country: '',
      last_updated: 100,
    });
    assert.deepEqual(reader.get('10.1.3.0'), { ...apiAnswer(records, '10.1.3.0'), risks: ['R16'], location_country: 'FR' });
    for (const ip of ['2001:db8::1', '2001:db8::ffff', '2001:db8:0:ffff::', '10.1.2.255', '10.1.255.255', '10.1.0.0']) {
      assert.deepEqual(reader.get(ip), apiAnswer(records, ip), ip);
    }
    assert.equal(reader.get('10.2.0.0'), null);
  });

  test('the same key in two feeds: labels unioned, single values from the first feed, the latest last_updated', async () => {
    const records = [
      stored('anonymous', '192.0.2.7', { organization: 'First', risks: ['A', 'B'], client: { count: 1 } }, 100),
      stored('anonymous-residential', '192.0.2.7', { organization: 'Second', risks: ['B', 'C'], client: { count: 2 } }, 200),
    ];
    const reader = await readerOf(records);
    assert.deepEqual(reader.get('192.0.2.7'), {
      ...apiAnswer(records, '192.0.2.7'),
      feeds: ['anonymous', 'anonymous-residential'],
      org: 'First',
      client_count: 1,
      risks: ['A', 'B', 'C'],
      last_updated: 200,
    });
  });

  test('networks with the same labels share one data entry', async () => {
    const labels: SpurRecord = { organization: 'Shared Org', risks: ['TUNNEL', 'SPAM'], tunnels: [{ operator: 'SHARED_VPN' }] };
    const many = Array.from({ length: 1000 }, (_, i) => stored('anonymous', `10.0.${i >> 8}.${i & 255}`, labels));
    const one = await fileOf(many.slice(0, 1));
    const all = await fileOf(many);
    assert.equal(dataSectionSize(all), dataSectionSize(one));
    const reader = new Reader<any>(all);
    assert.equal(reader.get('10.0.3.231')?.org, 'Shared Org');

    // A label differing gives a second entry, sharing the field names and labels of the first.
    const two = await fileOf([...many.slice(0, 999), stored('anonymous', '10.0.3.231', { ...labels, risks: ['TUNNEL'] })]);
    const added = dataSectionSize(two) - dataSectionSize(one);
    assert.ok(added > 0 && added < 60, `a second map of pointers takes ${added} bytes`);
  });

  test('the metadata is readable', async () => {
    const { metadata } = await readerOf([stored('anonymous', '192.0.2.1', {})]);
    assert.equal(metadata.binaryFormatMajorVersion, 2);
    assert.equal(metadata.binaryFormatMinorVersion, 0);
    assert.equal(metadata.ipVersion, 6);
    assert.equal(metadata.databaseType, 'IPoid');
    assert.deepEqual(metadata.description, { en: 'IPoid test export' });
    assert.deepEqual(metadata.languages, []);
    assert.deepEqual(metadata.buildEpoch, OPTIONS.buildEpoch);
    assert.equal(metadata.recordSize, 24);
  });

  test('an empty input gives a valid file that finds nothing', async () => {
    const reader = await readerOf([]);
    assert.equal(reader.metadata.nodeCount, 1);
    for (const ip of ['0.0.0.0', '192.0.2.1', '255.255.255.255', '::', '2001:db8::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) {
      assert.equal(reader.get(ip), null, ip);
    }
  });

  test('records out of address order are refused', async () => {
    const records = [stored('anonymous', '192.0.2.2', {}), stored('anonymous', '192.0.2.1', {})];
    await assert.rejects(fileOf(records), /out of address order: 192\.0\.2\.1 after 192\.0\.2\.2/);
    await assert.rejects(fileOf([stored('anonymous', '10.0.0.0/24', {}), stored('anonymous', '10.0.0.0/16', {})]), /out of address order/);
    // One address in two spellings is not one key: only canonical keys, as the store gives them, group.
    await assert.rejects(
      fileOf([stored('anonymous-ipv6', '2001:db8::1', {}), stored('anonymous-ipv6', '2001:0db8::1', {})]),
      /out of address order/,
    );
  });

  test('10,000 random IPv4 and 10,000 random IPv6 addresses are all found, 10,000 others of each are not', async () => {
    const random = createRandom(20260504);
    const v4 = new Set<number>();
    while (v4.size < 20_000) v4.add(random.int(0, 2 ** 32 - 1));
    const v4Text = [...v4].map((n) => [n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255].join('.'));
    const v6 = new Set<string>();
    while (v6.size < 20_000) v6.add(`2001:db8:${Array.from({ length: 6 }, () => random.int(0, 0xffff).toString(16)).join(':')}`);
    const v6Text = [...v6].map((text) => parseIp(text).text);
    const kept = [...v4Text.slice(0, 10_000), ...v6Text.slice(0, 10_000)];
    const records = storeOrder(
      kept.map((ip) => stored(ip.includes(':') ? 'anonymous-ipv6' : 'anonymous', ip, { organization: `org ${ip}` })),
    );

    const reader = await readerOf(records);
    for (const ip of kept) assert.equal(reader.get(ip)?.org, `org ${ip}`, ip);
    for (const ip of [...v4Text.slice(10_000), ...v6Text.slice(10_000)]) assert.equal(reader.get(ip), null, ip);
  });

  test('random nested networks in several feeds: every lookup answers as the API does', async () => {
    const v4 = fc.record({
      a: fc.integer({ min: 0, max: 3 }),
      b: fc.integer({ min: 0, max: 255 }),
      len: fc.constantFrom(14, 16, 20, 24, 28, 31, 32),
    });
    const v6 = fc.record({
      a: fc.integer({ min: 0, max: 3 }),
      b: fc.integer({ min: 0, max: 0xffff }),
      len: fc.constantFrom(32, 33, 40, 48, 64, 127, 128),
    });
    const network = fc.oneof(
      v4.map(({ a, b, len }) => ({ bytes: parseIp(`10.${a}.${b}.${b ^ 0x5a}`).bytes, prefixLen: 96 + len })),
      v6.map(({ a, b, len }) => ({ bytes: parseIp(`2001:db8:${a}:${b.toString(16)}::${b.toString(16)}`).bytes, prefixLen: len })),
    );
    const record = fc.record({
      network,
      feed: fc.constantFrom(...FEED_TYPES),
      risks: fc.subarray(['R1', 'R2', 'R3']),
      organization: fc.option(fc.constantFrom('O1', 'O2'), { nil: undefined }),
      count: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      lastUpdated: fc.integer({ min: 1, max: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { maxLength: 30 }), async (drawn) => {
        const byKey = new Map<string, StoredRecord>();
        for (const { network: n, feed, risks, organization, count, lastUpdated } of drawn) {
          const key = keyText(maskBytes(n.bytes, n.prefixLen), n.prefixLen);
          const context: SpurRecord = {
            risks,
            ...(organization ? { organization } : {}),
            ...(count === undefined ? {} : { client: { count } }),
          };
          byKey.set(`${key} ${feed}`, stored(feed, key, context, lastUpdated));
        }
        const records = storeOrder([...byKey.values()]);
        const reader = await readerOf(records);
        // Each network's first and last address and the addresses just outside it.
        const probes = records.flatMap((r) => {
          const { bytes, prefixLen } = parseIpOrNetwork(r.key);
          const first = BigInt(`0x${bytes.toString('hex')}`);
          const last = BigInt(`0x${lastAddress(bytes, prefixLen).toString('hex')}`);
          return [first - 1n, first, last, last + 1n].map((n) => Buffer.from(n.toString(16).padStart(32, '0'), 'hex'));
        });
        for (const bytes of probes) {
          const ip = addressText(bytes);
          assert.deepEqual(reader.get(ip), apiAnswer(records, ip), ip);
        }
      }),
      { seed: 4242, numRuns: 150 },
    );
  });
});

describe('mmdb data section and tree', () => {
  /** A file whose networks each lead to one value, as a reader reads it, at any record size. */
  function fileWith(values: { network: string; value: DataValue }[], recordSize: 24 | 28 | 32): Reader<any> {
    const tree = new SearchTree();
    const data = new DataSection();
    for (const { network, value } of values) {
      const { bytes, prefixLen } = parseIpOrNetwork(network);
      tree.insert(bytes, prefixLen, data.add(value));
    }
    const metadata = metadataSection({ nodeCount: tree.nodeCount, recordSize, ...OPTIONS });
    return new Reader<any>(Buffer.concat([...tree.chunks(recordSize), Buffer.alloc(DATA_SECTION_SEPARATOR), data.bytes, metadata]));
  }

  test('every value kind and size round-trips, through pointers of each size', () => {
    const long = (n: number, c: string) => c.repeat(n);
    const value = new Map<string, DataValue>([
      ['empty', ''],
      ['short', 'ab'],
      ['unicode', 'Zürich – 東京 🚀'],
      ['size 28', long(28, 'a')],
      ['size 29', long(29, 'b')],
      ['size 284', long(284, 'c')],
      ['size 285', long(285, 'd')],
      ['size 65820', long(65_820, 'e')],
      ['size 65821', long(65_821, 'f')],
      ['uint16', uint16(65_535)],
      ['uint32 zero', uint32(0)],
      ['uint32', uint32(4_294_967_295)],
      ['uint64', uint64(2 ** 40 + 5)],
      ['double', double(-1.5e-7)],
      ['empty array', []],
      ['nested', [['x', 'yyy'], new Map([['k', 'vvv']]), new Map()]],
    ]);
    // Filler pushes later values past the offsets where pointers grow to 3 and 4 bytes (2,048 and 526,336).
    const filler = (i: number) => `filler ${i} ${long(1000, 'z')}`;
    const values = [
      { network: '2001:db8::/32', value },
      ...Array.from({ length: 600 }, (_, i) => ({ network: `2001:db9:${i.toString(16)}::/48`, value: filler(i) })),
      { network: '2001:dba::/32', value: new Map<string, DataValue>([...value, ['late key', 'late value']]) },
    ];
    const plain = (v: DataValue): unknown =>
      v instanceof Map
        ? Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]))
        : Array.isArray(v)
          ? v.map(plain)
          : typeof v === 'string'
            ? v
            : (v as { value: number }).value;
    for (const recordSize of [24, 28, 32] as const) {
      const reader = fileWith(values, recordSize);
      const read = reader.get('2001:db8::1');
      assert.deepEqual({ ...read, uint64: Number(read.uint64) }, plain(value), `record size ${recordSize}`);
      assert.equal(reader.get('2001:db9:257::1'), filler(0x257));
      const late = reader.get('2001:dba::1');
      assert.equal(late['late key'], 'late value');
      assert.equal(late['size 65821'], long(65_821, 'f'));
      assert.equal(reader.metadata.recordSize, recordSize);
    }
  });

  test('record values past 2^24 take 28 bits, their top four bits in the shared middle byte', () => {
    // A string as long as a value may be pushes what follows past 2^24 bytes into the data section.
    const values = [
      { network: '2001:db8::/32', value: 'before' },
      { network: '2001:db9::/32', value: 'h'.repeat(16_800_000) },
      // One node: its left record before 2^24 (a value written already), its right one after.
      { network: '2001:dba::/32', value: 'before' },
      { network: '2001:dba:8000::/33', value: 'after' },
    ];
    for (const recordSize of [28, 32] as const) {
      const reader = fileWith(values, recordSize);
      assert.equal(reader.get('2001:db8::1'), 'before');
      assert.equal(reader.get('2001:dba::1'), 'before');
      assert.equal(reader.get('2001:dba:8000::1'), 'after');
      assert.equal(reader.get('2001:db9::1').length, 16_800_000);
    }
  });

  test('two values whose bytes hash alike are both kept', () => {
    // Found by search: their encodings have the same 31-bit FNV-1a hash, the key the section finds equal values by.
    const [first, second] = ['label-006vl8', 'label-00npd6'];
    const reader = fileWith(
      [
        { network: '2001:db8::/32', value: first },
        { network: '2001:db9::/32', value: second },
        { network: '2001:dba::/32', value: [first, second] },
      ],
      24,
    );
    assert.equal(reader.get('2001:db8::1'), first);
    assert.equal(reader.get('2001:db9::1'), second);
    assert.deepEqual(reader.get('2001:dba::1'), [first, second]);
  });

  test('numbers out of their type are refused', () => {
    const data = new DataSection();
    assert.throws(() => data.add(uint16(65_536)), /65536 is not a uint16/);
    assert.throws(() => data.add(uint32(-1)), /-1 is not a uint32/);
    assert.throws(() => data.add(uint32(1.5)), /1.5 is not a uint32/);
    assert.throws(() => data.add(uint64(2 ** 48)), /is not a uint64 below 2\^48/);
  });
});
