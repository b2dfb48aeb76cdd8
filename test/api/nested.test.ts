import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { importFeed } from '../../src/import/importer.ts';
import type { FeedType } from '../../src/feed/feed-types.ts';
import { gzipToTemp, quietLogger } from '../helpers/fixtures.ts';
import { forEachStore } from '../helpers/stores.ts';
import { request, startApi, type TestApi } from '../helpers/http.ts';

// Networks nested in one another, in one feed and across feeds.
const FEEDS: Record<FeedType, Record<string, unknown>[]> = {
  anonymous: [
    { network: '198.51.100.0/24', organization: 'Inner Hosting', risks: ['TUNNEL'], client: { count: 5, proxies: ['1_PROXY'] } },
    { ip: '198.51.100.7', organization: 'Own Exit', risks: ['GEO_MISMATCH'], client: { count: 2 } },
  ],
  'anonymous-residential': [
    { network: '198.51.0.0/16', organization: 'Outer ISP', risks: ['CALLBACK_PROXY'], client: { proxies: ['OXYLABS_PROXY'] } },
  ],
  'anonymous-ipv6': [{ network: '2001:db8:100:5::/64', organization: 'Inner VPN', risks: ['TUNNEL'] }],
  'anonymous-residential-ipv6': [{ network: '2001:db8:100::/48', organization: 'Outer Carrier', risks: ['CALLBACK_PROXY'] }],
};

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(target, { feed: null });
    for (const [feed, records] of Object.entries(FEEDS) as [FeedType, Record<string, unknown>[]][]) {
      await importFeed(api.store, gzipToTemp(records.map((r) => JSON.stringify(r)).join('\n')), { feed, logger: quietLogger });
    }
  });
  after(async () => api.close());

  const ipoid = async (ip: string) => (await request(`${api.base}/feed/v1/ip/${ip}`)).json?.[ip];
  const search = (ip: string) => request(`${api.base}/ipoid/_search`, { method: 'POST', body: { query: { term: { ip } } } });

  test('an address in a /64 inside a /48 of another feed answers both, the /64 first', async () => {
    const record = await ipoid('2001:db8:100:5::8');
    assert.equal(record.network, '2001:db8:100:5::/64');
    assert.equal(record.org, 'Inner VPN');
    assert.deepEqual(record.risks, ['TUNNEL', 'CALLBACK_PROXY']);
    assert.deepEqual(record.feeds, ['anonymous-ipv6', 'anonymous-residential-ipv6']);
  });

  test('an address in the /48 but outside the /64 answers the /48, not 404', async () => {
    const record = await ipoid('2001:db8:100:9::1');
    assert.equal(record.network, '2001:db8:100::/48');
    assert.equal(record.org, 'Outer Carrier');
    assert.equal(record.feeds, undefined);
  });

  test('an IPv4 address with its own record inside a /24 inside a /16 merges all three', async () => {
    const record = await ipoid('198.51.100.7');
    assert.equal(record.network, undefined);
    assert.equal(record.org, 'Own Exit');
    assert.equal(record.client_count, 2);
    assert.deepEqual(record.risks, ['GEO_MISMATCH', 'TUNNEL', 'CALLBACK_PROXY']);
    assert.deepEqual(record.proxies, ['1_PROXY', 'OXYLABS_PROXY']);
    assert.deepEqual(record.feeds, ['anonymous', 'anonymous-residential']);
    assert.equal((await ipoid('198.51.100.9')).network, '198.51.100.0/24');
    assert.equal((await ipoid('198.51.7.1')).network, '198.51.0.0/16');
  });

  test('the batch answers each nested address as the single lookup does', async () => {
    const ips = ['2001:db8:100:5::8', '2001:db8:100:9::1', '198.51.100.7', '198.51.100.9', '198.51.7.1', '198.52.0.1'];
    const { status, json } = await request(`${api.base}/feed/v1/ips`, { method: 'POST', body: { ips } });
    assert.equal(status, 200);
    for (const ip of ips.slice(0, 5)) assert.deepEqual(json[ip], await ipoid(ip), ip);
    assert.equal(json['198.52.0.1'], null);
  });

  test('_search lists every containing record as a hit, /v2/context answers the most specific', async () => {
    const v6 = (await search('2001:db8:100:5::8')).json.hits;
    assert.equal(v6.total.value, 2);
    assert.deepEqual(
      v6.hits.map((h: any) => h._source.network),
      ['2001:db8:100:5::/64', '2001:db8:100::/48'],
    );
    const v4 = (await search('198.51.100.7')).json.hits;
    assert.deepEqual(
      v4.hits.map((h: any) => h._source.ip ?? h._source.network),
      ['198.51.100.7', '198.51.100.0/24', '198.51.0.0/16'],
    );
    assert.deepEqual((await request(`${api.base}/v2/context/2001:db8:100:5::8`)).json, FEEDS['anonymous-ipv6'][0]);
    assert.deepEqual((await request(`${api.base}/v2/context/2001:db8:100:9::1`)).json, FEEDS['anonymous-residential-ipv6'][0]);
    assert.deepEqual((await request(`${api.base}/v2/context/198.51.100.9`)).json, FEEDS.anonymous[0]);
  });

  test('a prefix list holds exactly the records inside the prefix', async () => {
    const list = async (prefix: string) => (await request(`${api.base}/feed/v1/ips?prefix=${prefix}`)).json.ips.map((r: any) => r.ip);
    assert.deepEqual(await list('198.51.100.0/24'), ['198.51.100.0/24', '198.51.100.7']);
    assert.deepEqual(await list('198.51.0.0/16'), ['198.51.0.0/16', '198.51.100.0/24', '198.51.100.7']);
    assert.deepEqual(await list('198.51.100.0/25'), ['198.51.100.7']);
    assert.deepEqual(await list('2001:db8:100::/56'), ['2001:db8:100:5::/64']);
    assert.deepEqual(await list('2001:db8:100:6::/63'), []);
    assert.deepEqual(await list('2001:db8:100::/48'), ['2001:db8:100::/48', '2001:db8:100:5::/64']);
  });
});
