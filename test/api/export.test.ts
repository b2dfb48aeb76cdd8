import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Reader } from 'mmdb-lib';
import { importFeed } from '../../src/import/importer.ts';
import { assertExactAndMinimal } from '../helpers/cidr-sets.ts';
import { jsonLinesFeed, quietLogger } from '../helpers/fixtures.ts';
import { nftCanCheck, nftCheck, readIpset, readNft } from '../helpers/firewall-files.ts';
import { assertError, request, serve, startApi, untilChangeNamed, type TestApi } from '../helpers/http.ts';
import { forEachStore } from '../helpers/stores.ts';

const TUNNEL = { risks: ['TUNNEL'] };

// Adjacent /32s forming a /30, a gap, overlapping and nested networks, IPv6 beside IPv4.
const RECORDS = [
  { ip: '10.0.0.0', ...TUNNEL },
  { ip: '10.0.0.1', ...TUNNEL },
  { ip: '10.0.0.2', ...TUNNEL },
  { ip: '10.0.0.3', ...TUNNEL },
  { ip: '10.0.0.5', ...TUNNEL },
  { network: '10.1.0.0/24', ...TUNNEL },
  { ip: '10.1.0.7', ...TUNNEL },
  { network: '10.1.0.128/25', ...TUNNEL },
  { network: '10.1.1.0/24', ...TUNNEL },
  { ip: '192.0.2.1', risks: ['SPAM'] },
  { ip: '2001:db8::', ...TUNNEL },
  { ip: '2001:db8::1', ...TUNNEL },
  { ip: '2001:db8::3', ...TUNNEL },
  { network: '2001:db8:1::/48', ...TUNNEL },
  { network: '2001:db8:1:5::/64', ...TUNNEL },
];
const ALL = ['10.0.0.0/30', '10.0.0.5', '10.1.0.0/23', '192.0.2.1', '2001:db8::/127', '2001:db8::3', '2001:db8:1::/48'];
const lines = (text: string) => text.split('\n').filter((line) => line !== '');

forEachStore((target) => {
  describe('exports', () => {
    let api: TestApi;
    before(async () => {
      api = await startApi(target, { feed: jsonLinesFeed(RECORDS) });
      // The same key in a second feed is exported once. The tests start once answers name it.
      await untilChangeNamed(`${api.base}/feed/v1/export?format=txt`, () =>
        importFeed(api.store, jsonLinesFeed([{ ip: '10.0.0.1', ...TUNNEL }]), { feed: 'anonymous-residential', logger: quietLogger }),
      );
    });
    after(async () => api.close());
    const exported = (query: string, init?: RequestInit) => request(`${api.base}/feed/v1/export?${query}`, init);
    const listedKeys = async (query: string) =>
      lines((await request(`${api.base}/feed/v1/ips?format=ndjson&${query}`)).text).map((line) => (JSON.parse(line) as { ip: string }).ip);

    test('txt: the fewest CIDRs covering exactly the matching records', async () => {
      const all = await exported('format=txt');
      assert.equal(all.status, 200, all.text);
      assert.equal(all.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(all.headers.get('content-disposition'), 'attachment; filename="ipoid.txt"');
      assert.deepEqual(lines(all.text), ALL);
      for (const query of ['', 'risk=TUNNEL', 'prefix=10.0.0.0/24', 'risk=TUNNEL&prefix=2001:db8::/32', 'risk=SPAM', 'risk=UNKNOWN_RISK']) {
        const cidrs = lines((await exported(`format=txt&${query}`)).text);
        assertExactAndMinimal(cidrs, await listedKeys(query));
      }
      assert.deepEqual(lines((await exported('format=txt&prefix=10.0.0.0/24')).text), ['10.0.0.0/30', '10.0.0.5']);
      assert.equal((await exported('format=txt&risk=UNKNOWN_RISK')).text, '');
    });

    test('ipset: a restore file of the same CIDRs, one set per family, sized to the count', async () => {
      const answer = await exported('format=ipset&risk=TUNNEL');
      assert.equal(answer.status, 200);
      const sets = readIpset(answer.text);
      assert.deepEqual([...sets.keys()], ['ipoid', 'ipoid6']);
      assert.deepEqual(sets.get('ipoid'), { family: 4, maxelem: 65536, entries: ['10.0.0.0/30', '10.0.0.5', '10.1.0.0/23'] });
      assert.deepEqual(sets.get('ipoid6'), { family: 6, maxelem: 65536, entries: ['2001:db8::/127', '2001:db8::3', '2001:db8:1::/48'] });
      const named = readIpset((await exported('format=ipset&name=block_next&prefix=192.0.2.0/24')).text);
      assert.deepEqual(
        [...named].map(([name, set]) => [name, set.entries]),
        [
          ['block_next', ['192.0.2.1']],
          ['block_next6', []],
        ],
      );
    });

    test('nft: a file defining two interval sets of the same CIDRs, replaced in one transaction; empty sets too', async () => {
      const answer = await exported('format=nft');
      assert.equal(answer.status, 200);
      const { table, sets } = readNft(answer.text);
      assert.equal(table, 'ipoid');
      assert.deepEqual(sets.get('ipoid_v4'), { family: 4, entries: ['10.0.0.0/30', '10.0.0.5', '10.1.0.0/23', '192.0.2.1'] });
      assert.deepEqual(sets.get('ipoid_v6'), { family: 6, entries: ['2001:db8::/127', '2001:db8::3', '2001:db8:1::/48'] });
      const empty = (await exported('format=nft&name=edge&risk=UNKNOWN_RISK')).text;
      assert.deepEqual(
        [...readNft(empty).sets].map(([name, set]) => [name, set.entries.length]),
        [
          ['edge_v4', 0],
          ['edge_v6', 0],
        ],
      );
    });

    test(
      'nft: nft itself accepts the files (nft -c, when it may read the ruleset here)',
      { skip: !nftCanCheck() && 'nft -c needs nft and CAP_NET_ADMIN' },
      async () => {
        for (const query of ['format=nft', 'format=nft&name=edge&risk=UNKNOWN_RISK']) {
          const check = nftCheck((await exported(query)).text);
          assert.equal(check.status, 0, check.stderr);
        }
        assert.notEqual(
          nftCheck('table inet ipoid {\n\tset s {\n\t\ttype ipv4_addr\n\t}\n}\nadd element inet ipoid s { 10.0.0.0/33 }\n').status,
          0,
        );
      },
    );

    test('csv and ndjson: the list items exactly as the list route streams them', async () => {
      for (const format of ['csv', 'ndjson']) {
        for (const query of ['', '&risk=TUNNEL&prefix=10.1.0.0/16']) {
          const answer = await exported(`format=${format}${query}`);
          const listed = await request(`${api.base}/feed/v1/ips?format=${format}${query}`);
          assert.equal(answer.status, 200);
          assert.equal(answer.text, listed.text);
          assert.equal(answer.headers.get('content-type'), listed.headers.get('content-type'));
        }
      }
    });

    test('mmdb: a MaxMind DB file that a MaxMind reader reads back, its networks the matching records', async () => {
      const answer = await fetch(`${api.base}/feed/v1/export?format=mmdb&risk=TUNNEL`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('content-type'), 'application/vnd.maxmind.com-maxmind-db');
      assert.equal(answer.headers.get('content-disposition'), 'attachment; filename="ipoid.mmdb"');
      const reader = new Reader<any>(Buffer.from(await answer.arrayBuffer()));
      assert.equal(reader.metadata.buildEpoch.toUTCString(), answer.headers.get('last-modified'), "built at the data's time");
      for (const ip of ['10.0.0.2', '10.0.0.5', '10.1.1.200', '2001:db8::1', '2001:db8:1:ffff::1']) {
        assert.deepEqual(reader.get(ip)?.risks, ['TUNNEL'], ip);
      }
      for (const ip of ['10.0.0.4', '192.0.2.1', '2001:db8::2']) assert.equal(reader.get(ip), null, ip);
    });

    test('bad parameters are 400s that say why', async () => {
      assertError(await exported(''), 400, /format/);
      assertError(await exported('format=pdf'), 400, /format/);
      assertError(await exported('format=mmdb&name=ipoid&max=x'), 400, /max/);
      assertError(await exported('format=ipset&name=ip%20set'), 400, /name/);
      assertError(await exported('format=ipset&name=a_name_much_longer_than_ipset_allows'), 400, /name/);
      assertError(await exported('format=txt&max=-1'), 400, /max/);
      assertError(await exported('format=txt&limit=5'), 400, /unknown query parameter "limit"/);
      assertError(await exported('format=txt&prefix=10.0.0.0/33'), 400, /invalid prefix/);
    });

    test('more records than max: 413 naming the count and the limit, nothing streamed', async () => {
      const keys = await listedKeys('risk=TUNNEL');
      assertError(
        await exported('format=txt&risk=TUNNEL&max=3'),
        413,
        new RegExp(`^${keys.length} records match; the export's limit is 3 \\(max=3\\)`),
      );
      const exact = await exported(`format=txt&risk=TUNNEL&max=${keys.length}`);
      assert.equal(exact.status, 200);
      assertExactAndMinimal(lines(exact.text), keys);
    });

    test('ETag per data version and filter: 304 to If-None-Match, and a new ETag after an import', async () => {
      const first = await exported('format=txt');
      const etag = first.headers.get('etag')!;
      assert.match(etag, /^W\/".+"$/);
      assert.ok(first.headers.get('last-modified'));
      const again = await exported('format=txt', { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
      assert.equal(again.text, '');
      const filtered = await exported('format=txt&risk=TUNNEL', { headers: { 'if-none-match': etag } });
      assert.equal(filtered.status, 200, 'another filter is another representation');
      assert.notEqual(filtered.headers.get('etag'), etag);
      assert.notEqual((await exported('format=nft')).headers.get('etag'), etag);

      await importFeed(
        api.store,
        jsonLinesFeed([
          { ip: '10.0.0.1', ...TUNNEL },
          { ip: '10.0.0.4', ...TUNNEL },
        ]),
        {
          feed: 'anonymous-residential',
          logger: quietLogger,
        },
      );
      // Answers read the data's version at most once a second.
      const deadline = Date.now() + 30_000;
      let answer = await exported('format=txt', { headers: { 'if-none-match': etag } });
      while (answer.status === 304 && Date.now() < deadline) {
        await delay(200);
        answer = await exported('format=txt', { headers: { 'if-none-match': etag } });
      }
      assert.equal(answer.status, 200);
      assert.notEqual(answer.headers.get('etag'), etag);
      assert.deepEqual(lines(answer.text).slice(0, 2), ['10.0.0.0/30', '10.0.0.4/31'], 'the new record is exported');
    });
  });

  describe('the server-side cap', () => {
    let api: TestApi;
    let capped: { app: FastifyInstance; base: string };
    before(async () => {
      api = await startApi(target, { feed: jsonLinesFeed(RECORDS) });
      capped = await serve(api.store, [], { exportMaxRecords: 4 });
    });
    after(async () => {
      await capped.app.close();
      await api.close();
    });

    test('IPOID_EXPORT_MAX_RECORDS bounds every export, whatever max asks; the count is "more than" the cap', async () => {
      assertError(
        await request(`${capped.base}/feed/v1/export?format=txt`),
        413,
        /^more than 4 records match; the export's limit is 4 \(the server's IPOID_EXPORT_MAX_RECORDS\)/,
      );
      assertError(await request(`${capped.base}/feed/v1/export?format=txt&max=100`), 413, /limit is 4 /);
      assertError(
        await request(`${capped.base}/feed/v1/export?format=csv&prefix=10.1.0.0/16&max=2`),
        413,
        /^4 records match; the export's limit is 2 \(max=2\)/,
      );
      const within = await request(`${capped.base}/feed/v1/export?format=txt&prefix=10.1.0.0/16`);
      assert.equal(within.status, 200);
      assert.deepEqual(lines(within.text), ['10.1.0.0/23']);
    });
  });
});
