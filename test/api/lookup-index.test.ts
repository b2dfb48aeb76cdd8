import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadApiConfig } from '../../src/api/config.ts';
import type { FeedType } from '../../src/feed/feed-types.ts';
import { runGenerate } from '../../src/generator/index.ts';
import { importFeed } from '../../src/import/importer.ts';
import type { Store } from '../../src/store/types.ts';
import { fixtureRecords, gzipToTemp, jsonLinesFeed, quietLogger, SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';
import { indexBuilt, request, serve } from '../helpers/http.ts';
import { niceIn } from '../helpers/proc.ts';
import { execBehind, forEachStore, freshStore } from '../helpers/stores.ts';

// The in-memory lookup index (IPOID_LOOKUP_INDEX=memory) must answer exactly as the database does.

const FEEDS: Record<FeedType, Record<string, unknown>[]> = {
  anonymous: [
    ...fixtureRecords(SAMPLE_FEED),
    { network: '198.51.100.0/24', organization: 'Inner Hosting', risks: ['TUNNEL'], client: { count: 5, proxies: ['1_PROXY'] } },
    { ip: '198.51.100.7', organization: 'Own Exit', risks: ['GEO_MISMATCH'], client: { count: 2, concentration: { skew: 7 } } },
    { ip: '255.255.255.255', organization: 'Last' },
    { ip: '0.0.0.0', organization: 'First' },
    // A network of one address is stored as the address, under the feed's spelling.
    { network: '192.0.2.77/32', organization: 'One-address network' },
  ],
  'anonymous-residential': [
    { network: '198.51.0.0/16', organization: 'Outer ISP', risks: ['CALLBACK_PROXY'], client: { proxies: ['OXYLABS_PROXY'] } },
    { ip: '1.1.1.1', organization: 'Resi', client: { types: ['MOBILE'], count: 3 } },
  ],
  'anonymous-ipv6': [
    { network: '2001:db8:100:5::/64', organization: 'Inner VPN', risks: ['TUNNEL'] },
    { network: '100::/64', organization: 'Discard net' },
    { network: '2001:db8:ffff::1/128', organization: 'One-address v6 network' },
    { network: '64:ff9b::/96', organization: 'NAT64' },
  ],
  'anonymous-residential-ipv6': [{ network: '2001:db8:100::/48', organization: 'Outer Carrier', risks: ['CALLBACK_PROXY'] }],
};

// Every stored key, addresses inside networks, neighbours and other spellings.
const ADDRESSES = [
  ...Object.values(FEEDS)
    .flat()
    .map((r) => (r.ip as string | undefined) ?? (r.network as string).split('/')[0]!),
  '198.51.100.9',
  '198.51.7.1',
  '198.52.0.1',
  '2001:db8:100:5::8',
  '2001:db8:100:9::1',
  '2001:db8:101::1',
  '64:ff9b::c000:201',
  '2001:db8:ffff::1',
  '2001:db8:ffff::2',
  '::ffff:198.51.100.7',
  '::ffff:1.1.1.1',
  '::1',
  '1.1.1.2',
  '9.9.9.9',
];

async function importAll(store: Store, feeds: Record<FeedType, Record<string, unknown>[]>): Promise<void> {
  for (const [feed, records] of Object.entries(feeds) as [FeedType, Record<string, unknown>[]][]) {
    await importFeed(store, gzipToTemp(records.map((r) => JSON.stringify(r)).join('\n')), { feed, logger: quietLogger });
  }
}

test('IPOID_LOOKUP_INDEX: memory unless set to database; anything else refused', () => {
  assert.equal(loadApiConfig({}).lookupIndex, 'memory');
  assert.equal(loadApiConfig({ IPOID_LOOKUP_INDEX: 'database' }).lookupIndex, 'database');
  assert.throws(() => loadApiConfig({ IPOID_LOOKUP_INDEX: 'disk' }), /^Error: IPOID_LOOKUP_INDEX must be memory or database, not "disk"/);
});

forEachStore((target) => {
  let store: Store;
  let closeStore: () => Promise<void>;
  let memory: { app: FastifyInstance; base: string };
  let database: { app: FastifyInstance; base: string };
  const total = Object.values(FEEDS).flat().length;

  before(async () => {
    ({ store, close: closeStore } = await freshStore(target));
    await importAll(store, FEEDS);
    memory = await serve(store, [], { lookupIndex: 'memory' });
    database = await serve(store, [], { lookupIndex: 'database' });
    await indexBuilt(memory.base, total);
  });
  after(async () => {
    await memory.app.close();
    await database.app.close();
    await closeStore();
  });

  const single = async (base: string, ip: string) => {
    const { status, text, headers } = await request(`${base}/feed/v1/ip/${ip}`);
    const named = ['etag', 'last-modified', 'x-ipoid-feed-date'].map((name) => headers.get(name));
    return { status, text, named };
  };

  test('every address answers from the index as from the database, byte for byte', async () => {
    for (const ip of ADDRESSES) assert.deepEqual(await single(memory.base, ip), await single(database.base, ip), ip);
    assert.equal((await single(memory.base, '198.51.100.7')).status, 200);
    assert.equal((await single(memory.base, '9.9.9.9')).status, 404);
  });

  test('a batch answers from the index as from the database', async () => {
    const batch = async (base: string) => (await request(`${base}/feed/v1/ips`, { method: 'POST', body: { ips: ADDRESSES } })).text;
    assert.equal(await batch(memory.base), await batch(database.base));
  });

  test('/_info and /metrics report the index; with IPOID_LOOKUP_INDEX=database there is none', async () => {
    const { lookupIndex } = (await request(`${memory.base}/_info`)).json;
    assert.equal(lookupIndex.records, total);
    assert.ok(lookupIndex.bytes > 0);
    assert.match((await request(`${memory.base}/metrics`)).text, new RegExp(`^ipoid_lookup_index_records ${total}$`, 'm'));
    assert.equal((await request(`${database.base}/_info`)).json.lookupIndex, null);
  });

  test('the index builds on a thread that yields the CPU to the one answering lookups', () => {
    // This process serves: its main thread answers, the builder is one of its other threads.
    const niceOf = (task: string) => niceIn(`/proc/self/task/${task}/stat`);
    const others = readdirSync('/proc/self/task')
      .filter((task) => task !== String(process.pid))
      .map(niceOf);
    assert.ok(niceOf(String(process.pid)) < 10, 'the answering thread keeps its priority');
    assert.ok(others.includes(10), `a thread at nice 10 among ${JSON.stringify(others)}`);
  });

  test('after an import, an answer naming the new data (its ETag) holds the new data, and the index follows', async () => {
    const before = await request(`${memory.base}/feed/v1/ip/198.51.100.7`);
    const builtBefore: string = (await request(`${memory.base}/_info`)).json.lookupIndex.builtAt;
    const changed = { ...FEEDS, anonymous: FEEDS.anonymous.map((r) => (r.ip === '198.51.100.7' ? { ...r, organization: 'Renamed' } : r)) };
    await importFeed(store, gzipToTemp(changed.anonymous.map((r) => JSON.stringify(r)).join('\n')), {
      feed: 'anonymous',
      logger: quietLogger,
    });
    for (const deadline = Date.now() + 30_000; ; await delay(20)) {
      assert.ok(Date.now() < deadline, 'the new import never showed');
      const now = await request(`${memory.base}/feed/v1/ip/198.51.100.7`);
      if (now.headers.get('etag') === before.headers.get('etag')) {
        assert.equal(now.json['198.51.100.7'].org, 'Own Exit', 'an answer naming the old data holds the old data');
        continue;
      }
      assert.equal(now.json['198.51.100.7'].org, 'Renamed', 'an answer naming the new data holds the new data');
      break;
    }
    for (const deadline = Date.now() + 60_000; (await request(`${memory.base}/_info`)).json.lookupIndex.builtAt === builtBefore;) {
      assert.ok(Date.now() < deadline, 'the index was not rebuilt');
      await delay(50);
    }
    await indexBuilt(memory.base, total);
    // The data only: the database server may name the import a second late.
    const data = async (base: string, ip: string) => ({ ...(await single(base, ip)), named: undefined });
    for (const ip of ADDRESSES) assert.deepEqual(await data(memory.base, ip), await data(database.base, ip), ip);
  });
});

// A lookup of a past day reads the store's history: it is named, and answered 304, by the store's version, not the index's.
forEachStore((target) => {
  test('?at answers by the data it reads, while the index still holds the previous import', async () => {
    const feed = (org: string) => gzipToTemp(JSON.stringify({ ip: '1.2.3.4', organization: org }));
    const { store, close } = await freshStore(target);
    await importFeed(store, feed('A'), { feed: 'anonymous', feedDate: '2026-11-01', logger: quietLogger });
    const { app, base } = await serve(store, [], { lookupIndex: 'memory' });
    try {
      await indexBuilt(base, 1);
      const url = `${base}/feed/v1/ip/1.2.3.4?at=2026-11-01`;
      const first = await request(url);
      assert.equal(first.json['1.2.3.4'].org, 'A');
      await importFeed(store, feed('B'), { feed: 'anonymous', feedDate: '2026-11-01', logger: quietLogger, force: true });
      await delay(1100); // the version known is a second old: a conditional request reads it again
      const again = await request(url, { headers: { 'if-none-match': first.headers.get('etag')! } });
      assert.equal(again.status, 200);
      assert.equal(again.json['1.2.3.4'].org, 'B');
      assert.notEqual(again.headers.get('etag'), first.headers.get('etag'));
    } finally {
      await app.close();
      await close();
    }
  });
});

forEachStore((target) => {
  test('a build that fails keeps the index there was, says so in /_info, and lookups go on answering from it', async () => {
    const { store, url, close } = await freshStore(target);
    await importFeed(store, jsonLinesFeed([{ ip: '1.2.3.4', organization: 'Before' }]), { feed: 'anonymous', logger: quietLogger });
    const { app, base } = await serve(store, [], { lookupIndex: 'memory' });
    try {
      await indexBuilt(base, 1);
      const before = await request(`${base}/feed/v1/ip/1.2.3.4`);
      // A new run (a new data version) whose records the next build cannot read.
      await execBehind(url, [
        'ALTER TABLE ip_data RENAME TO ip_data_away',
        'CREATE TEMPORARY TABLE newer AS SELECT * FROM import_run ORDER BY id DESC LIMIT 1',
        'UPDATE newer SET id = id + 1',
        'INSERT INTO import_run SELECT * FROM newer',
      ]);
      for (const deadline = Date.now() + 30_000; (await request(`${base}/_info`)).json.lookupIndex.failedAt === null; await delay(50)) {
        assert.ok(Date.now() < deadline, 'no build failed');
      }
      const now = await request(`${base}/feed/v1/ip/1.2.3.4`);
      assert.equal(now.status, 200);
      assert.equal(now.json['1.2.3.4'].org, 'Before');
      assert.equal(now.headers.get('etag'), before.headers.get('etag'), 'named by the version the index holds');
      await execBehind(url, 'ALTER TABLE ip_data_away RENAME TO ip_data');
    } finally {
      await app.close();
      await close();
    }
  });
});

/*
 * Until the first index is built, lookups read the database. An import that commits while that
 * build reads an older snapshot is answered from the database at once: the index must not then
 * take the answers back to the older data. Imports follow one another, each answered, until a
 * build ends: it either installs an index as new as every answer, or leaves it (buildSeconds set,
 * builtAt still null) and builds again.
 */
forEachStore((target) => {
  test('answers never go back to older data when the first index was built while an import committed', async () => {
    const RECORDS = 30_000;
    const IP = '2001:db8:ffff::1';
    const dir = tempDir();
    await runGenerate({ count: RECORDS, seed: 61, out: join(dir, 'big.json.gz') });
    const { store, close } = await freshStore(target);
    await importFeed(store, join(dir, 'big.json.gz'), { feed: 'anonymous', logger: quietLogger });
    const importDay = (day: number) =>
      importFeed(store, jsonLinesFeed([{ ip: IP, organization: `day ${day}` }]), {
        feed: 'anonymous-ipv6',
        logger: quietLogger,
        force: true,
      });
    await importDay(0);
    const { app, base } = await serve(store, [], { lookupIndex: 'memory' });
    let last = { run: 0, day: 0 };
    // One lookup, checked against the one before: neither its version (ETag) nor its data goes back.
    const ask = async () => {
      const answer = await request(`${base}/feed/v1/ip/${IP}`);
      assert.equal(answer.status, 200, answer.text);
      const tag = answer.headers.get('etag')!.replace(/^W\/"(.*)-[0-9a-f]+"$/, '$1');
      const now = { run: Math.max(...tag.split('.').map(Number)), day: Number(answer.json[IP].org.slice('day '.length)) };
      assert.ok(now.run >= last.run, `version went back from run ${last.run} to ${now.run}`);
      assert.ok(now.day >= last.day, `data went back from day ${last.day} to day ${now.day}`);
      last = now;
      return now;
    };
    try {
      for (let day = 1; ; day++) {
        const info = await request(`${base}/_info`);
        if (info.status === 200 && (info.json.lookupIndex.builtAt !== null || info.json.lookupIndex.buildSeconds !== null)) break;
        await importDay(day);
        for (const deadline = Date.now() + 60_000; (await ask()).day < day; await delay(20)) {
          assert.ok(Date.now() < deadline, `day ${day} was never answered`);
        }
      }
      const days = last.day;
      await indexBuilt(base, RECORDS + 1);
      for (const deadline = Date.now() + 60_000; (await ask()).day < days; await delay(20)) {
        assert.ok(Date.now() < deadline, `the index never answered day ${days}`);
      }
    } finally {
      await app.close();
      await close();
    }
  });
});
