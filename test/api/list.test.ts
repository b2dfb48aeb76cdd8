import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importFeed } from '../../src/import/importer.ts';
import { listAll } from '../../src/store/list-all.ts';
import type { Store } from '../../src/store/types.ts';
import { finished, runCli, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { forEachStore } from '../helpers/stores.ts';
import { assertError, request, startApi, type TestApi } from '../helpers/http.ts';

const ALL_KEYS = [
  '1.1.1.1',
  '100.64.10.1',
  '192.0.2.200',
  '198.51.100.0',
  '198.51.100.23',
  '203.0.113.7',
  '203.0.113.8',
  '203.0.113.9',
  '2001:db8::8a2e:370:7334',
  '2001:db8:aaaa:1::/64',
];

/** Every key the list route answers for `query`, following "next" with pages of `limit`. */
async function pageThrough(base: string, query: string, limit: number): Promise<string[]> {
  const keys: string[] = [];
  let url: string | null = `${base}/feed/v1/ips?${query}${query ? '&' : ''}limit=${limit}`;
  while (url) {
    const page = await request(url);
    assert.equal(page.status, 200, page.text);
    assert.ok(page.json.ips.length <= limit);
    keys.push(...page.json.ips.map((item: { ip: string }) => item.ip));
    const { next } = page.json as { next: string | null };
    const link = page.headers.get('link');
    if (next) {
      assert.equal(link, `</feed/v1/ips?${query}${query ? '&' : ''}limit=${limit}&cursor=${next}>; rel="next"`);
      url = `${base}/feed/v1/ips?${query}${query ? '&' : ''}limit=${limit}&cursor=${encodeURIComponent(next)}`;
    } else {
      assert.equal(link, null);
      url = null;
    }
  }
  return keys;
}

async function storedKeys(store: Store): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const record of listAll(store, { labels: [] })) keys.add(record.key);
  return keys;
}

forEachStore((target) => {
  describe('on the sample feed', () => {
    let api: TestApi;
    before(async () => {
      api = await startApi(target);
    });
    after(async () => api.close());
    const list = (query: string, init?: RequestInit) => request(`${api.base}/feed/v1/ips?${query}`, init);
    const keys = async (query: string) => (await list(query)).json.ips.map((i: { ip: string }) => i.ip);

    test('without filters: every record in address order, one page', async () => {
      const page = await list('');
      assert.equal(page.status, 200);
      assert.deepEqual(
        page.json.ips.map((i: { ip: string }) => i.ip),
        ALL_KEYS,
      );
      assert.equal(page.json.next, null);
      const first = page.json.ips[0];
      assert.equal(first.feed, 'anonymous');
      assert.deepEqual(first, { ip: '1.1.1.1', feed: 'anonymous', ...(await request(`${api.base}/feed/v1/ip/1.1.1.1`)).json['1.1.1.1'] });
      const network = page.json.ips[9];
      assert.equal(network.network, undefined, 'a listed network is keyed by its CIDR');
    });

    test('each filter kind, several values of one kind, and combinations', async () => {
      assert.deepEqual(await keys('operator=NORD_VPN'), ['203.0.113.7', '203.0.113.8']);
      assert.deepEqual(await keys('tunnel_type=TOR'), ['192.0.2.200']);
      assert.deepEqual(await keys('risk=SOME_FUTURE_RISK'), ['100.64.10.1']);
      assert.deepEqual(await keys('behavior=FILE_SHARING'), ['203.0.113.7']);
      assert.deepEqual(await keys('proxy=OXYLABS_PROXY'), ['203.0.113.7', '2001:db8:aaaa:1::/64']);
      assert.deepEqual(await keys('type=IOT'), ['100.64.10.1']);
      assert.deepEqual(await keys('service=OPENVPN'), ['203.0.113.7']);
      assert.deepEqual(await keys('infrastructure=SATELLITE'), ['100.64.10.1']);
      assert.deepEqual(await keys('country=US'), ['203.0.113.7', '203.0.113.8']);
      assert.deepEqual(await keys('risk=TUNNEL&risk=CALLBACK_PROXY'), ['203.0.113.7']);
      assert.deepEqual(await keys('risk=TUNNEL&country=DE'), ['192.0.2.200']);
      assert.deepEqual(await keys('operator=NO_SUCH_OPERATOR'), []);
    });

    test('prefix: a CIDR (IPv4 or IPv6) or one address, alone and with labels', async () => {
      assert.deepEqual(await keys('prefix=203.0.113.0/24'), ['203.0.113.7', '203.0.113.8', '203.0.113.9']);
      assert.deepEqual(await keys('prefix=203.0.113.0/24&operator=EXPRESS_VPN'), ['203.0.113.9']);
      assert.deepEqual(await keys(`prefix=${encodeURIComponent('2001:DB8::/32')}`), ['2001:db8::8a2e:370:7334', '2001:db8:aaaa:1::/64']);
      assert.deepEqual(await keys('prefix=1.1.1.1'), ['1.1.1.1']);
      for (const prefix of ['203.0.113.0/33', '2001:db8::/129', 'garbage/8', '1.2.3.4/x', '999.0.0.0/8']) {
        assertError(await list(`prefix=${encodeURIComponent(prefix)}`), 400, /invalid prefix/);
      }
    });

    test('pages of 2 visit every matching record exactly once, in order', async () => {
      assert.deepEqual(await pageThrough(api.base, '', 2), ALL_KEYS);
      assert.deepEqual(await pageThrough(api.base, 'risk=TUNNEL', 2), [
        '192.0.2.200',
        '203.0.113.7',
        '203.0.113.8',
        '203.0.113.9',
        '2001:db8::8a2e:370:7334',
      ]);
      assert.deepEqual(await pageThrough(api.base, 'prefix=203.0.113.0%2F24', 1), ['203.0.113.7', '203.0.113.8', '203.0.113.9']);
    });

    test('bad parameters answer 400 with the reason', async () => {
      assertError(await list('cursor=bogus'), 400, /invalid cursor/);
      assertError(await list('cursor=AAAA'), 400, /invalid cursor/);
      assertError(await list('bogus=1'), 400, /unknown query parameter "bogus"/);
      assertError(await list('ip=1.1.1.1'), 400, /unknown query parameter "ip"/);
      assertError(await list('limit=0'), 400, /limit/);
      assertError(await list('limit=1001'), 400, /limit/);
      assertError(await list('limit=ten'), 400, /limit/);
      assertError(await list('format=xml'), 400, /format/);
      assertError(await list('risk='), 400, /risk/);
      assertError(await list('format=ndjson&limit=5'), 400, /limit and cursor/);
      assert.equal((await list('limit=1000')).status, 200);
    });

    test('ndjson streams every record as a list item per line, by format or Accept', async () => {
      const pages = (await list('')).json.ips;
      for (const answer of [await list('format=ndjson'), await list('', { headers: { accept: 'application/x-ndjson' } })]) {
        assert.equal(answer.status, 200);
        assert.match(answer.headers.get('content-type') ?? '', /^application\/x-ndjson/);
        assert.ok(answer.text.endsWith('\n'));
        assert.deepEqual(
          answer.text
            .trimEnd()
            .split('\n')
            .map((l) => JSON.parse(l)),
          pages,
        );
      }
      const filtered = await list('format=ndjson&operator=NORD_VPN&prefix=203.0.113.0/24');
      assert.deepEqual(
        filtered.text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l).ip),
        ['203.0.113.7', '203.0.113.8'],
      );
      assert.equal((await list('format=ndjson&operator=NO_SUCH')).text, '');
    });

    test('csv streams a header row and one quoted row per record, by format or Accept', async () => {
      for (const answer of [await list('format=csv'), await list('', { headers: { accept: 'text/csv' } })]) {
        assert.equal(answer.status, 200);
        assert.match(answer.headers.get('content-type') ?? '', /^text\/csv/);
        const rows = answer.text.split('\r\n');
        assert.equal(rows.pop(), '');
        assert.equal(
          rows[0],
          'ip,feed,org,client_count,types,conc_city,conc_state,conc_country,countries,location_country,risks,last_updated,proxies,behaviors,tunnels,conc_geohash,conc_skew,conc_density',
        );
        assert.equal(rows.length, 11);
        assert.match(
          rows[6]!,
          /^203\.0\.113\.7,anonymous,Example VPN Ltd,12,DESKTOP\|MOBILE,Ashburn,Virginia,US,3,US,TUNNEL\|CALLBACK_PROXY,\d+,LUMINATI_PROXY\|OXYLABS_PROXY,FILE_SHARING\|TOR_PROXY_USER,NORD_VPN,dqbyh,120,0\.31$/,
        );
        assert.match(
          rows[8]!,
          /^203\.0\.113\.9,anonymous,"O'Brien ""Quotes"" ; DROP TABLE actor_data; --",0,,,,,0,PL,TUNNEL,\d+,,,EXPRESS_VPN,,,$/,
        );
      }
      // São Paulo stays UTF-8.
      assert.match((await list('format=csv&country=BR')).text, /198\.51\.100\.23/);
    });

    test('labels: every filter kind with its values and counts', async () => {
      const answer = await request(`${api.base}/feed/v1/labels`);
      assert.equal(answer.status, 200);
      const labels = answer.json as Record<string, { value: string; count: number }[]>;
      assert.deepEqual(Object.keys(labels).sort(), [
        'behavior',
        'country',
        'infrastructure',
        'operator',
        'proxy',
        'risk',
        'service',
        'tunnel_type',
        'type',
      ]);
      assert.deepEqual(labels.operator, [
        { value: 'NORD_VPN', count: 2 },
        { value: 'EXPRESS_VPN', count: 1 },
        { value: 'PROTON_VPN', count: 1 },
        { value: 'SOME_NEW_OPERATOR', count: 1 },
        { value: 'TOR', count: 1 },
      ]);
      assert.deepEqual(labels.risk?.[0], { value: 'TUNNEL', count: 5 });
      assert.deepEqual(
        labels.type?.find((l) => l.value === 'IOT'),
        { value: 'IOT', count: 1 },
      );
      // Every value listed filters the list to as many records as it counts.
      for (const { value, count } of labels.proxy ?? []) assert.equal((await keys(`proxy=${value}`)).length, count);
    });

    test('labels follow an import', async () => {
      const before = (await request(`${api.base}/feed/v1/labels`)).json;
      assert.ok(!before.operator.some((l: { value: string }) => l.value === 'BRAND_NEW_VPN'));
      const feed = join(tempDir(), 'feed.jsonl');
      const { writeFileSync, readFileSync } = await import('node:fs');
      const sample = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'sample-feed.jsonl'), 'utf8');
      writeFileSync(feed, `${sample}{"ip":"192.0.2.1","tunnels":[{"operator":"BRAND_NEW_VPN"}]}\n`);
      await importFeed(api.store, feed, { feed: 'anonymous', logger: quietLogger });
      const after = (await request(`${api.base}/feed/v1/labels`)).json;
      assert.deepEqual(
        after.operator.find((l: { value: string }) => l.value === 'BRAND_NEW_VPN'),
        { value: 'BRAND_NEW_VPN', count: 1 },
      );
    });
  });

  describe('while an import runs', () => {
    let api: TestApi;
    let dir: string;
    before(async () => {
      dir = tempDir();
      const gen = await runCli(['generate', '--count', '5000', '--seed', '3', '--out', join(dir, 'day1.json.gz')]);
      assert.equal(gen.code, 0, gen.stderr);
      const churn = await runCli([
        'generate',
        '--from',
        join(dir, 'day1.json.gz'),
        '--churn',
        '0.1',
        '--seed',
        '4',
        '--out',
        join(dir, 'day2.json.gz'),
      ]);
      assert.equal(churn.code, 0, churn.stderr);
      api = await startApi(target, { feed: join(dir, 'day1.json.gz') });
    });
    after(async () => api.close());

    test('pages visit no key twice and every key that is there before and after', async () => {
      const before = await storedKeys(api.store);
      assert.equal(before.size, 5000);
      const child = spawnCli(['import', join(dir, 'day2.json.gz')], { IPOID_DB_URL: api.dbUrl, IPOID_LOG_LEVEL: 'debug' });
      const importing = waitForOutput(child, 'import batch applied');
      const result = finished(child);
      let done = false;
      void result.then(() => (done = true));
      // Page only once the import has written its first batch, until it has committed.
      await importing;
      const passes: { keys: string[]; startedDuringImport: boolean }[] = [];
      for (;;) {
        const startedDuringImport = !done;
        passes.push({ keys: await pageThrough(api.base, '', 10), startedDuringImport });
        if (!startedDuringImport) break;
      }
      const run = await result;
      assert.equal(run.code, 0, run.stderr);
      const afterKeys = await storedKeys(api.store);
      assert.notDeepEqual(afterKeys, before, 'the import changed the data');
      const stable = [...before].filter((k) => afterKeys.has(k));
      assert.ok(passes[0]!.startedDuringImport, 'a pass ran during the import');
      for (const { keys } of passes) {
        assert.equal(new Set(keys).size, keys.length, 'no key visited twice');
        const seen = new Set(keys);
        const missing = stable.filter((k) => !seen.has(k));
        assert.deepEqual(missing, [], 'every key present before and after is visited');
        for (const key of keys) assert.ok(before.has(key) || afterKeys.has(key), `${key} was stored before or after`);
      }
    });
  });
});
