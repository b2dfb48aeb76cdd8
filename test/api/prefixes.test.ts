import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { importFeed } from '../../src/import/importer.ts';
import { jsonLinesFeed, quietLogger } from '../helpers/fixtures.ts';
import { forEachStore } from '../helpers/stores.ts';
import { assertError, request, startApi, untilChangeNamed, type TestApi } from '../helpers/http.ts';

const nord = { tunnels: [{ operator: 'NORD_VPN', type: 'VPN' }], location: { country: 'US' } };
const express = { tunnels: [{ operator: 'EXPRESS_VPN', type: 'VPN' }], location: { country: 'DE' } };

// Two adjacent /24s (one with a stored /24 network), a lone address, and IPv6 addresses and a /64 in two /48s.
const RECORDS = [
  { ip: '198.51.100.7', ...express },
  { network: '203.0.112.0/24', ...express },
  { ip: '203.0.112.10', ...express },
  { ip: '203.0.112.11', ...nord },
  { ip: '203.0.113.1', ...nord },
  { ip: '203.0.113.2', ...nord },
  { ip: '203.0.113.3', ...nord, risks: ['CALLBACK_PROXY'] },
  { ip: '203.0.113.200', ...express, risks: ['CALLBACK_PROXY'] },
  { ip: '2001:db8:1:1::5', ...nord },
  { ip: '2001:db8:1:2::6', ...nord },
  { network: '2001:db8:1:3::/64', ...express },
  { ip: '2001:db8:2::1', ...express },
];

const labels = (counts: Record<string, Record<string, number>>) => ({
  risk: {},
  service: {},
  operator: {},
  tunnel_type: {},
  proxy: {},
  behavior: {},
  type: {},
  infrastructure: {},
  country: {},
  ...counts,
});

forEachStore((target) => {
  describe('GET /feed/v1/prefixes', () => {
    let api: TestApi;
    before(async () => {
      api = await startApi(target, { feed: null });
      // The tests start once answers name this import.
      await untilChangeNamed(`${api.base}/feed/v1/prefixes`, () =>
        importFeed(api.store, jsonLinesFeed(RECORDS), { feed: 'anonymous', logger: quietLogger }),
      );
    });
    after(async () => api.close());
    const prefixes = async (query: string) => {
      const answer = await request(`${api.base}/feed/v1/prefixes?${query}`);
      assert.equal(answer.status, 200, answer.text);
      return answer.json as { prefixes: { prefix: string; count: number; labels: object }[]; truncated: boolean };
    };
    const counts = async (query: string) => (await prefixes(query)).prefixes.map((p) => `${p.prefix} ${p.count}`);

    test('IPv4 /24 by default, min 2: the densest first, each with its labels counted', async () => {
      assert.deepEqual(await prefixes(''), {
        prefixes: [
          {
            prefix: '203.0.113.0/24',
            count: 4,
            labels: labels({
              risk: { CALLBACK_PROXY: 2 },
              operator: { NORD_VPN: 3, EXPRESS_VPN: 1 },
              tunnel_type: { VPN: 4 },
              country: { US: 3, DE: 1 },
            }),
          },
          {
            prefix: '203.0.112.0/24',
            count: 3,
            labels: labels({ operator: { EXPRESS_VPN: 2, NORD_VPN: 1 }, tunnel_type: { VPN: 3 }, country: { DE: 2, US: 1 } }),
          },
        ],
        truncated: false,
      });
      assert.deepEqual(await counts('len=24&min=2'), ['203.0.113.0/24 4', '203.0.112.0/24 3']);
    });

    test('min, limit and ties in address order', async () => {
      assert.deepEqual(await counts('min=1'), ['203.0.113.0/24 4', '203.0.112.0/24 3', '198.51.100.0/24 1']);
      assert.deepEqual(await counts('min=4'), ['203.0.113.0/24 4']);
      assert.deepEqual(await counts('min=5'), []);
      assert.deepEqual(await prefixes('limit=1'), { ...(await prefixes('limit=1')), truncated: true });
      assert.deepEqual(await counts('limit=1'), ['203.0.113.0/24 4']);
      assert.equal((await prefixes('limit=2')).truncated, false);
      assert.deepEqual(await counts('len=32&min=1&prefix=203.0.113.0/30'), ['203.0.113.1/32 1', '203.0.113.2/32 1', '203.0.113.3/32 1']);
    });

    test('other lengths: a network counts only in the prefixes holding its whole range', async () => {
      assert.deepEqual(await counts('len=23'), ['203.0.112.0/23 7']);
      assert.deepEqual(await counts('len=25'), ['203.0.113.0/25 3', '203.0.112.0/25 2']);
      assert.deepEqual(await counts('len=25&min=1'), ['203.0.113.0/25 3', '203.0.112.0/25 2', '198.51.100.0/25 1', '203.0.113.128/25 1']);
      assert.deepEqual(await counts('len=8'), ['203.0.0.0/8 7']);
    });

    test('the label filters and prefix of the list route', async () => {
      assert.deepEqual(await prefixes('operator=NORD_VPN&min=1'), {
        prefixes: [
          {
            prefix: '203.0.113.0/24',
            count: 3,
            labels: labels({ risk: { CALLBACK_PROXY: 1 }, operator: { NORD_VPN: 3 }, tunnel_type: { VPN: 3 }, country: { US: 3 } }),
          },
          {
            prefix: '203.0.112.0/24',
            count: 1,
            labels: labels({ operator: { NORD_VPN: 1 }, tunnel_type: { VPN: 1 }, country: { US: 1 } }),
          },
        ],
        truncated: false,
      });
      assert.deepEqual(await counts('risk=CALLBACK_PROXY&operator=EXPRESS_VPN&min=1'), ['203.0.113.0/24 1']);
      assert.deepEqual(await counts('operator=NO_SUCH_VPN&min=1'), []);
      assert.deepEqual(await counts('prefix=203.0.112.0/24&min=1'), ['203.0.112.0/24 3']);
      assert.deepEqual(await counts('prefix=203.0.112.0/23&len=25'), ['203.0.113.0/25 3', '203.0.112.0/25 2']);
      assert.deepEqual(await counts('prefix=203.0.112.0/25&len=24&min=1'), ['203.0.112.0/24 2'], 'the /24 network is not inside the /25');
    });

    test('IPv6 with len6: /48 and /64', async () => {
      assert.deepEqual(await prefixes('len6=48'), {
        prefixes: [
          {
            prefix: '2001:db8:1::/48',
            count: 3,
            labels: labels({ operator: { NORD_VPN: 2, EXPRESS_VPN: 1 }, tunnel_type: { VPN: 3 }, country: { US: 2, DE: 1 } }),
          },
        ],
        truncated: false,
      });
      assert.deepEqual(await counts('len6=48&min=1'), ['2001:db8:1::/48 3', '2001:db8:2::/48 1']);
      assert.deepEqual(await counts('len6=64'), []);
      assert.deepEqual(await counts('len6=64&min=1'), [
        '2001:db8:1:1::/64 1',
        '2001:db8:1:2::/64 1',
        '2001:db8:1:3::/64 1',
        '2001:db8:2::/64 1',
      ]);
      assert.deepEqual(await counts('len6=63&min=1'), ['2001:db8:1:2::/63 2', '2001:db8:1::/63 1', '2001:db8:2::/63 1']);
      assert.deepEqual(await counts('len6=48&min=1&operator=EXPRESS_VPN&prefix=2001:db8:1::/48'), ['2001:db8:1::/48 1']);
    });

    test('bad parameters are 400 saying why', async () => {
      const bad = async (query: string, message: RegExp) =>
        assertError(await request(`${api.base}/feed/v1/prefixes?${query}`), 400, message);
      await bad('len=7', /^querystring\/len must be from 8 to 32$/);
      await bad('len=33', /^querystring\/len must be from 8 to 32$/);
      await bad('len6=31', /^querystring\/len6 must be from 32 to 64$/);
      await bad('len6=65', /^querystring\/len6 must be from 32 to 64$/);
      await bad('len=24&len6=64', /len \(IPv4 prefixes\) or len6 \(IPv6 prefixes\), not both/);
      await bad('len=2e1', /^querystring\/len must match pattern/);
      await bad('min=0', /^querystring\/min must be at least 1$/);
      await bad('min=-1', /^querystring\/min must match pattern/);
      await bad('limit=0', /^querystring\/limit must be from 1 to 10000$/);
      await bad('limit=10001', /^querystring\/limit must be from 1 to 10000$/);
      await bad('prefix=2001:db8::/32', /prefix 2001:db8::\/32 is IPv6: ask its prefixes with len6/);
      await bad('len6=48&prefix=203.0.113.0/24', /prefix 203.0.113.0\/24 is IPv4: ask its prefixes with len$/);
      await bad('prefix=203.0.113.0/33', /invalid prefix/);
      await bad('format=csv', /unknown query parameter "format"/);
    });

    test('a GET answers 304 to its ETag, as every data route', async () => {
      const first = await request(`${api.base}/feed/v1/prefixes`);
      const etag = first.headers.get('etag');
      assert.ok(etag);
      assert.equal((await request(`${api.base}/feed/v1/prefixes`, { headers: { 'if-none-match': etag } })).status, 304);
    });

    // Last: it changes the data. Answers are kept per import, so the next import's must show.
    test('an answer asked again is the same until the next import, then shows that import', async () => {
      assert.deepEqual(await counts('min=1'), await counts('min=1'));
      const moved = RECORDS.map((r) => ('ip' in r && r.ip === '198.51.100.7' ? { ...r, ip: '198.51.101.7' } : r));
      await importFeed(api.store, jsonLinesFeed(moved), { feed: 'anonymous', logger: quietLogger });
      assert.deepEqual(await counts('min=1'), ['203.0.113.0/24 4', '203.0.112.0/24 3', '198.51.101.0/24 1']);
    });
  });
});
