import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SpurRecord } from '../../src/feed/schema.ts';
import { parseIp } from '../../src/feed/ip.ts';
import { startFakeSpur, type FakeSpur, type FakeSpurFaults } from '../../src/spur/fake-server.ts';
import { openStore } from '../../src/store/open.ts';
import type { ImportRun, Store } from '../../src/store/types.ts';
import { tempDir } from '../helpers/fixtures.ts';
import { finished, jsonLines, runCli, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { publishFullFile, publishSlot, publishTruncatedSlot } from '../helpers/realtime.ts';
import { MAX_SLOT_FAILURES } from '../../src/realtime/apply-slot.ts';
import { storedSnapshot } from '../helpers/snapshot.ts';
import { TOKEN } from '../helpers/spur-feeds.ts';
import { forEachStore, type TestDatabase } from '../helpers/stores.ts';

const FEED = 'anonymous-residential';
const record = (i: number): SpurRecord => ({
  ip: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  organization: `Org ${i}`,
  risks: ['CALLBACK_PROXY'],
  client: { count: i % 7, proxies: ['OXYLABS_PROXY'] },
});
const DAY_ONE = Array.from({ length: 40 }, (_, i) => record(i));
const [FIRST, SECOND] = [DAY_ONE[0]!.ip!, DAY_ONE[1]!.ip!];

forEachStore((target) => {
  let db: TestDatabase;
  let spur: FakeSpur;
  const faults: Partial<Record<string, FakeSpurFaults>> = {};
  const feedsDir = tempDir();
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    IPOID_DB_URL: db.url,
    SPUR_FEED_BASE_URL: spur.url,
    SPUR_API_TOKEN: TOKEN,
    SPUR_API_TOKEN_FILE: '',
    IPOID_DOWNLOAD_DIR: tempDir(),
    IPOID_DOWNLOAD_RETRY_SECONDS: '0.01',
    IPOID_REALTIME_POLL_SECONDS: '0.2',
    ...extra,
  });
  const oneShot = (extra: Record<string, string> = {}) => runCli(['update', '--realtime'], env(extra));
  /** Reads the store in a fresh handle: what the API would answer now. */
  const inStore = async <T>(read: (store: Store) => Promise<T>): Promise<T> => {
    const store = await openStore(db.url);
    try {
      return await read(store);
    } finally {
      await store.close();
    }
  };
  const stored = (ip: string) => inStore(async (store) => (await store.lookup(parseIp(ip))).find((r) => r.feed === FEED)?.context);
  const slotRuns = (): Promise<ImportRun[]> =>
    inStore(async (store) =>
      (await store.importRuns({ limit: 1000 })).filter((run) => run.kind === 'realtime' && run.status === 'succeeded'),
    );
  const snapshot = () => inStore(storedSnapshot);

  before(async () => {
    db = await target.createDatabase();
    spur = await startFakeSpur({ dir: feedsDir, token: TOKEN, faults });
  });
  // Faults are read at each request: a test sets them, and they end with it.
  afterEach(() => {
    delete faults[FEED];
  });
  after(async () => {
    await spur.close();
    await db.drop();
  });

  test('a follower waits for a full file: no slot is merged into a feed that has none', async () => {
    publishSlot(feedsDir, FEED, '20260105/0000', [{ ip: FIRST, organization: 'Too early' }]);
    const result = await oneShot();
    // Spur has no full file of the feed yet: that is the update's failure, not a merge.
    assert.equal(jsonLines(result.stdout)[0]!.status, 'failed');
    assert.deepEqual(jsonLines(result.stdout)[0]!.realtime, { applied: 0, missing: 0, newestSlot: null, waiting: true });
    assert.deepEqual(await slotRuns(), []);
  });

  test('catch-up: the full file, then every slot since 00:00 of its date in order; a missing slot is logged, skipped and counted', async () => {
    publishFullFile(feedsDir, FEED, '20260105', DAY_ONE);
    publishSlot(feedsDir, FEED, '20260105/0000', [{ ip: FIRST, organization: 'Slot 0000', risks: ['SPAM'] }]);
    // 0005 is never published.
    publishSlot(feedsDir, FEED, '20260105/0010', [
      { ip: FIRST, organization: 'Slot 0010' },
      { ip: '198.51.100.1', risks: ['TUNNEL'] },
    ]);
    publishSlot(feedsDir, FEED, '20260105/0015', [{ ip: SECOND, tunnels: [{ operator: 'PROTON_VPN', type: 'VPN' }] }]);
    const result = await oneShot();
    assert.equal(result.code, 0, result.stderr);
    const [line] = jsonLines(result.stdout);
    assert.equal(line!.status, 'imported');
    assert.deepEqual(line!.realtime, { applied: 3, missing: 1, newestSlot: '2026-01-05T00:15Z' });
    assert.match(result.stderr, /realtime slot missing \(404\): skipped/);
    // The later slot's scalar wins: the slots were merged in order.
    assert.deepEqual(await stored(FIRST), { ...DAY_ONE[0], organization: 'Slot 0010', risks: ['CALLBACK_PROXY', 'SPAM'] });
    assert.deepEqual((await stored(SECOND))!.tunnels, [{ operator: 'PROTON_VPN', type: 'VPN' }]);
    assert.deepEqual(await stored('198.51.100.1'), { ip: '198.51.100.1', risks: ['TUNNEL'] });
    const runs = await slotRuns();
    assert.deepEqual(runs.map((run) => [run.slot!.toISOString(), run.inserted, run.updated, run.records]).reverse(), [
      ['2026-01-05T00:00:00.000Z', 0, 1, 40],
      ['2026-01-05T00:10:00.000Z', 1, 1, 41],
      ['2026-01-05T00:15:00.000Z', 0, 1, 41],
    ]);
  });

  test('idempotence: a second pass merges nothing, records nothing and changes nothing', async () => {
    const before = await snapshot();
    const runs = (await slotRuns()).length;
    const result = await oneShot();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(jsonLines(result.stdout)[0], {
      feed: FEED,
      status: 'up-to-date',
      feedDate: '2026-01-05',
      seconds: jsonLines(result.stdout)[0]!.seconds,
      realtime: { applied: 0, missing: 0, newestSlot: '2026-01-05T00:15Z' },
    });
    assert.equal(await snapshot(), before);
    assert.equal((await slotRuns()).length, runs);
  });

  test('ipoid imports --feeds names the full file and the newest slot merged', async () => {
    const result = await runCli(['imports', '--feeds'], env());
    assert.equal(result.code, 0, result.stderr);
    const feed = jsonLines(result.stdout).find((line) => line.feed === FEED)!;
    assert.equal(feed.feedDate, '2026-01-05');
    assert.equal(feed.records, 41);
    assert.deepEqual(
      { ...(feed.realtime as object), lagSeconds: 0, finishedAt: '' },
      {
        slot: '2026-01-05T00:15:00.000Z',
        sinceFullFile: true,
        lagSeconds: 0,
        finishedAt: '',
        created: 0,
        merged: 1,
      },
    );
  });

  test('a long-running follower picks up a slot published after it started, and stops on SIGTERM', async () => {
    const child = spawnCli(['follow'], env({ IPOID_LOG_LEVEL: 'info' }));
    const done = finished(child);
    try {
      await waitForOutput(child, 'following feeds');
      publishSlot(feedsDir, FEED, '20260105/0020', [{ ip: SECOND, organization: 'Polled' }]);
      await waitForOutput(child, '"slot":"2026-01-05T00:20Z","created":0,"merged":1');
      assert.equal((await stored(SECOND))!.organization, 'Polled');
    } finally {
      child.kill('SIGTERM');
    }
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /follow stopped/);
  });

  test('a truncated slot fails, nothing of it is merged, later slots wait, and the next pass retries it', async () => {
    const lines = [{ ip: FIRST, organization: 'After the cut' }];
    publishTruncatedSlot(feedsDir, FEED, '20260105/0025', lines);
    publishSlot(feedsDir, FEED, '20260105/0030', [{ ip: FIRST, risks: ['WEB_SCRAPING'] }]);
    const before = await snapshot();
    const failed = await oneShot();
    assert.equal(failed.code, 1, failed.stderr);
    const realtime = jsonLines(failed.stdout)[0]!.realtime as Record<string, unknown>;
    assert.equal(realtime.applied, 0);
    assert.equal(realtime.newestSlot, '2026-01-05T00:20Z');
    assert.match(String(realtime.error), /not a complete gzip file/);
    assert.match(failed.stderr, /realtime: .*gzip/);
    assert.equal(await snapshot(), before);

    publishSlot(feedsDir, FEED, '20260105/0025', lines);
    const retried = await oneShot();
    assert.equal(retried.code, 0, retried.stderr);
    assert.deepEqual(jsonLines(retried.stdout)[0]!.realtime, { applied: 2, missing: 0, newestSlot: '2026-01-05T00:30Z' });
    assert.deepEqual(await stored(FIRST), {
      ...DAY_ONE[0],
      organization: 'After the cut',
      risks: ['CALLBACK_PROXY', 'SPAM', 'WEB_SCRAPING'],
    });
  });

  test('a follower killed in the middle of a slot leaves none of it; the next pass merges it whole', async () => {
    // Large enough that the kill lands while the slot's transaction is open.
    const big = Array.from({ length: 30_000 }, (_, i) => ({ ip: `172.16.${Math.floor(i / 250)}.${(i % 250) + 1}`, risks: ['SPAM'] }));
    publishSlot(feedsDir, FEED, '20260105/0035', big);
    const before = await snapshot();
    const runs = (await slotRuns()).length;
    const child = spawnCli(['update', '--realtime'], env({ IPOID_LOG_LEVEL: 'debug' }));
    const done = finished(child);
    await waitForOutput(child, 'realtime slot merging');
    child.kill('SIGKILL');
    assert.equal((await done).signal, 'SIGKILL');
    assert.equal(await snapshot(), before);
    assert.equal((await slotRuns()).length, runs);

    const rerun = await oneShot();
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(jsonLines(rerun.stdout)[0]!.realtime, { applied: 1, missing: 0, newestSlot: '2026-01-05T00:35Z' });
    assert.equal((await slotRuns())[0]!.inserted, 30_000);
  });

  test('two followers on one database merge every slot exactly once', async () => {
    const slots = ['0040', '0045', '0050', '0055', '0100', '0105'];
    slots.forEach((time, n) =>
      publishSlot(
        feedsDir,
        FEED,
        `20260105/${time}`,
        Array.from({ length: 2000 }, (_, i) => ({ ip: `10.0.0.${(i % 40) + 1}`, client: { count: n * 10_000 + i } })),
      ),
    );
    const children = [0, 1].map(() => spawnCli(['follow'], env({ IPOID_LOG_LEVEL: 'info' })));
    const done = children.map(finished);
    try {
      // Until the last slot is in, however the two shared the work (a loaded machine is slow: no deadline but the test's).
      while (!(await slotRuns()).some((run) => run.slot!.toISOString() === '2026-01-05T01:05:00.000Z')) await sleep(200);
    } finally {
      for (const child of children) child.kill('SIGTERM');
    }
    const results = await Promise.all(done);
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const merged = (await slotRuns()).map((run) => run.slot!.toISOString()).filter((slot) => slot >= '2026-01-05T00:40');
    assert.deepEqual(merged.sort(), slots.map((time) => `2026-01-05T${time.slice(0, 2)}:${time.slice(2)}:00.000Z`).sort());
    // The last slot's value for each address, whichever follower merged it.
    assert.equal((await stored('10.0.0.1'))!.client!.count, 5 * 10_000 + 1960);
  });

  test('a new full file replaces what the slots merged; the slots since its date are merged again', async () => {
    publishFullFile(feedsDir, FEED, '20260106', DAY_ONE);
    publishSlot(feedsDir, FEED, '20260106/0000', [{ ip: SECOND, organization: 'Day two' }]);
    const result = await oneShot();
    assert.equal(result.code, 0, result.stderr);
    const [line] = jsonLines(result.stdout);
    assert.equal(line!.status, 'imported');
    assert.equal(line!.deleted, 1 + 30_000, 'the records slots created are gone');
    assert.deepEqual(line!.realtime, { applied: 1, missing: 0, newestSlot: '2026-01-06T00:00Z' });
    assert.deepEqual(await stored(FIRST), DAY_ONE[0]);
    assert.deepEqual(await stored(SECOND), { ...DAY_ONE[1], organization: 'Day two' });
    assert.equal(await stored('198.51.100.1'), undefined);
  });

  test('slots after midnight, before the next full file, follow the last one; history keeps what each slot replaced', async () => {
    publishSlot(feedsDir, FEED, '20260107/0005', [{ ip: SECOND, organization: 'Day three' }]);
    const result = await oneShot();
    assert.equal(result.code, 0, result.stderr);
    // 01-06 after its first slot was never published: 288 slots missing.
    assert.deepEqual(jsonLines(result.stdout)[0]!.realtime, { applied: 1, missing: 288, newestSlot: '2026-01-07T00:05Z' });
    const at = async (day: string) => {
      const lookup = await runCli(['lookup', SECOND, '--at', day], env());
      assert.equal(lookup.code, 0, lookup.stderr);
      return (jsonLines(lookup.stdout)[0]!.context as SpurRecord).organization;
    };
    // Each day as its last run left it: 01-05 by its slots, 01-06 by its file and slot, 01-07 by a slot alone.
    assert.deepEqual([await at('2026-01-05'), await at('2026-01-06'), await at('2026-01-07')], ['Polled', 'Day two', 'Day three']);
  });

  test('a slot Spur names as the newest before it can be read is not skipped: the next pass merges it', async () => {
    publishSlot(feedsDir, FEED, '20260107/0010', [{ ip: FIRST, organization: 'Ten past' }]);
    faults[FEED] = { realtimeLatestAhead: 1 };
    const early = await oneShot();
    assert.equal(early.code, 0, early.stderr);
    assert.deepEqual(jsonLines(early.stdout)[0]!.realtime, { applied: 1, missing: 0, newestSlot: '2026-01-07T00:10Z' });
    publishSlot(feedsDir, FEED, '20260107/0015', [{ ip: FIRST, organization: 'Quarter past' }]);
    const later = await oneShot();
    assert.deepEqual(jsonLines(later.stdout)[0]!.realtime, { applied: 1, missing: 0, newestSlot: '2026-01-07T00:15Z' });
    assert.equal((await stored(FIRST))!.organization, 'Quarter past');
  });

  test('server errors on realtime requests are retried with backoff', async () => {
    publishSlot(feedsDir, FEED, '20260107/0020', [{ ip: FIRST, organization: 'After retries' }]);
    faults[FEED] = { failFirst: 2, failStatus: 503 };
    const result = await oneShot();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(jsonLines(result.stdout)[0]!.realtime, { applied: 1, missing: 0, newestSlot: '2026-01-07T00:20Z' });
    assert.ok(spur.requests.some((r) => r.path.endsWith('realtime/20260107/0020.json.gz') && r.status === 503));
    assert.equal((await stored(FIRST))!.organization, 'After retries');
  });

  test(`a slot Spur keeps serving corrupt is given up after ${MAX_SLOT_FAILURES} tries, and the slots after it are merged`, async () => {
    publishTruncatedSlot(feedsDir, FEED, '20260107/0025', [{ ip: FIRST, organization: 'Never' }]);
    publishSlot(feedsDir, FEED, '20260107/0030', [{ ip: FIRST, organization: 'Half past' }]);
    for (let pass = 1; pass < MAX_SLOT_FAILURES; pass++) {
      const failed = await oneShot();
      assert.equal(failed.code, 1, failed.stderr);
      assert.equal((jsonLines(failed.stdout)[0]!.realtime as { newestSlot: string }).newestSlot, '2026-01-07T00:20Z');
    }
    const result = await oneShot();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(jsonLines(result.stdout)[0]!.realtime, { applied: 1, missing: 0, givenUp: 1, newestSlot: '2026-01-07T00:30Z' });
    assert.match(result.stderr, /realtime slot failed too often: skipped/);
    assert.equal((await stored(FIRST))!.organization, 'Half past');
  });

  test('a refused token stops a follower at once with a clear message', async () => {
    const result = await runCli(['follow'], env({ SPUR_API_TOKEN: 'wrong-token' }));
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /Spur refused access \(401\).*check SPUR_API_TOKEN/);
  });

  test('a token refused on realtime files only stops the follower too, rather than warn every minute', async () => {
    faults[FEED] = { refuseRealtime: true };
    const result = await runCli(['follow'], env());
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /Spur refused access \(401\) to .*\/realtime\/latest/);
  });
});
