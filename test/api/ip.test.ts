import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { importFeed } from '../../src/import/importer.ts';
import { fixtureRecords, quietLogger, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { forEachStore } from '../helpers/stores.ts';
import { assertError, request, startApi, type TestApi } from '../helpers/http.ts';

// Contract §1: the exact answer IPInfo's tests expect for 1.1.1.1 (last_updated aside).
const CONTRACT_1_1_1_1 = {
  '1.1.1.1': {
    ip: '1.1.1.1',
    org: 'Organization 1',
    client_count: 10,
    types: ['UNKNOWN'],
    conc_city: '',
    conc_state: '',
    conc_country: '',
    countries: 0,
    location_country: 'VN',
    risks: [],
    last_updated: 1704295688,
    proxies: ['3_PROXY', '1_PROXY'],
    behaviors: [],
    tunnels: [],
  },
};

const IPV6 = '2001:db8::8a2e:370:7334';
const IPV6_SPELLINGS = [
  IPV6,
  '2001:DB8::8A2E:370:7334',
  '2001:0db8:0000:0000:0000:8a2e:0370:7334',
  '2001:db8:0:0:0:8a2e:370:7334',
  '2001:0DB8::8a2e:0370:7334',
];
const IPV4_SPELLINGS = ['1.1.1.1', '001.001.001.001'];
// IPv6 spellings of 1.1.1.1: its data, under the key MediaWiki's IPUtils::prettifyIP gives them.
const MAPPED_SPELLINGS = ['::ffff:1.1.1.1', '::FFFF:101:101', '0:0:0:0:0:ffff:1.1.1.1'];
const NOT_IPS = [
  ' 2001:db8::8a2e:370:7334',
  'garbage',
  '999.1.1.1',
  '1.1.1',
  '1.1.1.1.1',
  '1.1.1.1%2F24',
  '1.1.1.1/24',
  '2001:db8::1::2',
  'fe80::1%25eth0',
  '',
  'x'.repeat(5000),
  '1'.repeat(80),
];

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(target);
  });
  after(async () => api.close());

  const ipoid = (ip: string) => request(`${api.base}/feed/v1/ip/${ip}`);

  test('1.1.1.1 answers exactly the contract record, keys in the contract order', async () => {
    const answer = await ipoid('1.1.1.1');
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
    const record = answer.json['1.1.1.1'];
    const [run] = await api.store.importRuns({ limit: 1 });
    const importedAt = run!.startedAt.getTime() / 1000;
    assert.ok(Math.abs(record.last_updated - importedAt) < 2, `last_updated ${record.last_updated} is the import's start, ${importedAt}`);
    assert.ok(Number.isInteger(record.last_updated));
    assert.deepEqual(answer.json, { '1.1.1.1': { ...CONTRACT_1_1_1_1['1.1.1.1'], last_updated: record.last_updated } });
    assert.deepEqual(Object.keys(record), Object.keys(CONTRACT_1_1_1_1['1.1.1.1']));
  });

  test('every spelling of an address answers 200 under its prettified key', async () => {
    for (const [spellings, canonical] of [
      [IPV6_SPELLINGS, IPV6],
      [IPV4_SPELLINGS, '1.1.1.1'],
      [MAPPED_SPELLINGS, '::ffff:101:101'],
    ] as const) {
      for (const spelling of spellings) {
        const answer = await ipoid(encodeURIComponent(spelling));
        assert.equal(answer.status, 200, `${spelling}: ${answer.text}`);
        assert.deepEqual(Object.keys(answer.json), [canonical], spelling);
        assert.equal(answer.json[canonical].ip, canonical);
      }
    }
    const ipv6 = (await ipoid(IPV6)).json[IPV6];
    assert.deepEqual([ipv6.org, ipv6.client_count, ipv6.countries, ipv6.tunnels], ['Proton AG', 40, 12, ['PROTON_VPN']]);
  });

  test('an IPv6 address inside a stored /64 answers the network data under the requested address', async () => {
    const answer = await ipoid('2001:DB8:AAAA:1:0:0:0:5');
    assert.equal(answer.status, 200);
    assert.deepEqual(Object.keys(answer.json), ['2001:db8:aaaa:1::5']);
    const record = answer.json['2001:db8:aaaa:1::5'];
    assert.equal(record.ip, '2001:db8:aaaa:1::5');
    assert.equal(record.network, '2001:db8:aaaa:1::/64');
    assert.deepEqual(
      [record.org, record.location_country, record.proxies, record.risks],
      ['Mobile Carrier', 'GB', ['OXYLABS_PROXY'], ['CALLBACK_PROXY']],
    );
    assertError(await ipoid('2001:db8:aaaa:2::5'), 404);
  });

  test('optional concentration fields appear only when the feed has them', async () => {
    const record = (await ipoid('203.0.113.7')).json['203.0.113.7'];
    assert.deepEqual([record.conc_geohash, record.conc_skew, record.conc_density], ['dqbyh', 120, 0.31]);
    assert.deepEqual([record.conc_city, record.conc_state, record.conc_country], ['Ashburn', 'Virginia', 'US']);
    assert.deepEqual(record.tunnels, ['NORD_VPN']);
    const bare = (await ipoid('198.51.100.0')).json['198.51.100.0'];
    assert.deepEqual(bare, {
      ...CONTRACT_1_1_1_1['1.1.1.1'],
      ip: '198.51.100.0',
      org: '',
      client_count: 0,
      types: [],
      location_country: '',
      proxies: [],
      last_updated: bare.last_updated,
    });
  });

  test('unknown is 404, anything that is not an address is 400, each with a JSON error', async () => {
    for (const ip of ['8.8.8.8', '2001:db8::1', '198.51.100.1']) assertError(await ipoid(ip), 404, /not in the data/);
    for (const ip of NOT_IPS) assertError(await ipoid(ip), 400);
    assertError(await ipoid('999.1.1.1'), 400, /not an IPv4 or IPv6 address: "999\.1\.1\.1"/);
    assertError(await ipoid('1.1.1.1/24'), 400, /not an IPv4 or IPv6 address: "1\.1\.1\.1\/24"/);
    assertError(await request(`${api.base}/feed/v1/ip`), 404, /no route/);
  });

  test('/v2/context answers the Spur object as it was in the feed', async () => {
    const records = fixtureRecords(SAMPLE_FEED);
    for (const ip of ['203.0.113.9', '100.64.10.1', '001.001.001.001']) {
      const answer = await request(`${api.base}/v2/context/${ip}`);
      assert.equal(answer.status, 200);
      assert.deepEqual(
        answer.json,
        records.find((r) => r.ip === ip.replace(/\b0+(\d)/g, '$1')),
      );
    }
    const network = await request(`${api.base}/v2/context/2001:db8:aaaa:1::42`);
    assert.deepEqual(
      network.json,
      records.find((r) => r.network === '2001:db8:aaaa:1::/64'),
    );
    assertError(await request(`${api.base}/v2/context/8.8.8.8`), 404);
    assertError(await request(`${api.base}/v2/context/not-an-ip`), 400);
    assertError(await request(`${api.base}/v2/context/1.1.1.1/32`), 400);
  });

  test('POST /v2/context answers each distinct key its Spur object as GET does, null when unknown', async () => {
    const spellings = ['203.0.113.9', '001.001.001.001', '1.1.1.1', '2001:DB8:AAAA:1::42', '8.8.8.8'];
    const answer = await request(`${api.base}/v2/context`, { method: 'POST', body: { ips: spellings } });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(Object.keys(answer.json), ['203.0.113.9', '1.1.1.1', '2001:db8:aaaa:1::42', '8.8.8.8']);
    for (const key of ['203.0.113.9', '1.1.1.1', '2001:db8:aaaa:1::42']) {
      assert.deepEqual(answer.json[key], (await request(`${api.base}/v2/context/${key}`)).json);
    }
    assert.equal(answer.json['8.8.8.8'], null);
    const refused = await request(`${api.base}/v2/context`, { method: 'POST', body: { ips: ['1.1.1.1', '1.1.1'] } });
    assertError(refused, 400, /not IP addresses: "1\.1\.1"/);
    assert.deepEqual(refused.json.invalid, ['1.1.1']);
  });

  test('_search answers the OpenSearch shape for the term query, total 0 when unknown', async () => {
    const search = (body: unknown) => request(`${api.base}/ipoid/_search`, { method: 'POST', body });
    const hit = await search({ query: { bool: { filter: [{ term: { ip: '203.0.113.7' } }] } } });
    assert.equal(hit.status, 200);
    assert.equal(hit.json.hits.total.value, 1);
    assert.deepEqual(hit.json.hits.hits[0]._source, fixtureRecords(SAMPLE_FEED)[1]);
    const short = await search({ query: { term: { ip: '2001:db8:aaaa:1::1' } } });
    assert.equal(short.json.hits.hits[0]._source.network, '2001:db8:aaaa:1::/64');
    const miss = await search({ query: { bool: { filter: [{ term: { ip: '8.8.8.8' } }] } } });
    assert.equal(miss.status, 200);
    assert.deepEqual(miss.json.hits.total.value, 0);
    assert.deepEqual(miss.json.hits.hits, []);
    const shapes = [
      { query: { match: { ip: '1.1.1.1' } } },
      { query: { bool: { filter: [{ term: { ip: '1.1.1.1' } }, { term: { ip: '1.1.1.2' } }] } } },
      { query: { bool: { must: [{ term: { ip: '1.1.1.1' } }] } } },
      { query: { term: { ip: { value: '1.1.1.1' } } } },
      { query: { term: { asn: '1' } } },
      { query: { term: { ip: '1.1.1.1' } }, size: 5 },
      {},
      [],
    ];
    for (const body of shapes) assertError(await search(body), 400, /supported queries are/);
    assertError(await search({ query: { term: { ip: 'not-an-ip' } } }), 400, /not an IPv4 or IPv6 address/);
    assertError(await search('{"query":'), 400);
  });

  test('the batch answers every distinct prettified spelling by its key, null when unknown', async () => {
    const batch = (ips: unknown) => request(`${api.base}/feed/v1/ips`, { method: 'POST', body: { ips } });
    const answer = await batch(['1.1.1.1', '8.8.8.8', '2001:DB8::8A2E:370:7334', '2001:db8:aaaa:1::9', '::ffff:1.1.1.1']);
    assert.equal(answer.status, 200);
    assert.deepEqual(Object.keys(answer.json).sort(), [
      '1.1.1.1',
      '2001:db8::8a2e:370:7334',
      '2001:db8:aaaa:1::9',
      '8.8.8.8',
      '::ffff:101:101',
    ]);
    assert.deepEqual(answer.json['::ffff:101:101'], { ...answer.json['1.1.1.1'], ip: '::ffff:101:101' });
    assert.equal(answer.json['8.8.8.8'], null);
    assert.deepEqual(answer.json['1.1.1.1'], (await request(`${api.base}/feed/v1/ip/1.1.1.1`)).json['1.1.1.1']);
    assert.equal(answer.json['2001:db8:aaaa:1::9'].network, '2001:db8:aaaa:1::/64');
    assert.deepEqual((await batch([])).json, {});

    const full = await batch(Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`));
    assert.equal(full.status, 200);
    assert.equal(Object.keys(full.json).length, 1000);
    assertError(await batch(Array.from({ length: 1001 }, () => '1.1.1.1')), 400, /must NOT have more than 1000 items/);

    const invalid = await batch(['1.1.1.1', 'nope', '999.1.1.1']);
    assertError(invalid, 400, /not IP addresses: "nope", "999\.1\.1\.1"/);
    assert.deepEqual(invalid.json.invalid, ['nope', '999.1.1.1']);
    assert.deepEqual(invalid.json.reasons, ['not an IPv4 or IPv6 address: "nope"', 'not an IPv4 or IPv6 address: "999.1.1.1"']);
    const spaced = await batch([' 1.1.1.1']);
    assert.deepEqual(spaced.json.reasons, ['not an IPv4 or IPv6 address: " 1.1.1.1" (leading or trailing whitespace)']);
    assertError(await batch({ '1.1.1.1': true }), 400, /body\/ips must be array/);
    assertError(await request(`${api.base}/feed/v1/ips`, { method: 'POST', body: {} }), 400, /must have required property 'ips'/);
    assertError(await request(`${api.base}/feed/v1/ips`, { method: 'POST', body: { ips: [], extra: 1 } }), 400, /unknown property "extra"/);
    assertError(
      await request(`${api.base}/feed/v1/ips`, {
        method: 'POST',
        body: 'ips=1.1.1.1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
    );
  });
});

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(target);
    const residential = [
      '{"ip":"1.1.1.1","organization":"Residential ISP","risks":["CALLBACK_PROXY"],"client":{"count":3,"proxies":["1_PROXY","OXYLABS_PROXY"]}}',
      '{"ip":"2001:db8:aaaa:1::5","risks":["TUNNEL"]}',
    ].join('\n');
    await importFeed(api.store, Readable.from([residential]), { feed: 'anonymous-residential', logger: quietLogger });
  });
  after(async () => api.close());

  test('an address in several feeds answers with everything known, first feed first', async () => {
    const { status, json } = await request(`${api.base}/feed/v1/ip/1.1.1.1`);
    assert.equal(status, 200);
    const record = json['1.1.1.1'];
    assert.equal(record.org, 'Organization 1');
    assert.equal(record.client_count, 10);
    assert.deepEqual(record.risks, ['CALLBACK_PROXY']);
    assert.deepEqual(record.proxies, ['3_PROXY', '1_PROXY', 'OXYLABS_PROXY']);
    assert.deepEqual(record.feeds, ['anonymous', 'anonymous-residential']);
    const batch = await request(`${api.base}/feed/v1/ips`, { method: 'POST', body: { ips: ['1.1.1.1'] } });
    assert.deepEqual(batch.json['1.1.1.1'], record);
    const search = await request(`${api.base}/ipoid/_search`, { method: 'POST', body: { query: { term: { ip: '1.1.1.1' } } } });
    assert.equal(search.json.hits.total.value, 2);
  });

  test("an address's own record and a network containing it merge, the own record first", async () => {
    const { json } = await request(`${api.base}/feed/v1/ip/2001:db8:aaaa:1::5`);
    const record = json['2001:db8:aaaa:1::5'];
    assert.equal(record.network, undefined);
    assert.deepEqual(record.risks, ['TUNNEL', 'CALLBACK_PROXY']);
    assert.deepEqual(record.proxies, ['OXYLABS_PROXY']);
    assert.deepEqual(record.feeds, ['anonymous-residential', 'anonymous']);
  });
});
