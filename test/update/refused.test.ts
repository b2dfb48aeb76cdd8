import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startFakeSpur, type FakeSpur } from '../../src/spur/fake-server.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { tempDir } from '../helpers/fixtures.ts';
import { request, serve } from '../helpers/http.ts';
import { jsonLines, runCli } from '../helpers/cli.ts';
import { storedSnapshot } from '../helpers/snapshot.ts';
import { forEachStore, type TestDatabase } from '../helpers/stores.ts';
import { RECORDS, TOKEN, writeFeed } from '../helpers/spur-feeds.ts';

// A file whose gzip stream is whole but whose text stops early: the first 14% of its lines.
const KEPT_SHARE = 0.14;

const feedFile = (dir: string, date: string): string => join(dir, 'anonymous', date, 'feed.json.gz');

/** The feed's first 14% of lines; `cutMidRecord` ends them inside a record, without a newline. */
function shortened(gz: Buffer, cutMidRecord: boolean): Buffer {
  const lines = gunzipSync(gz)
    .toString()
    .split('\n')
    .filter((l) => l !== '');
  const kept = lines.slice(0, Math.floor(lines.length * KEPT_SHARE));
  const text = `${kept.join('\n')}\n`;
  return gzipSync(cutMidRecord ? text.slice(0, -Math.floor(kept.at(-1)!.length / 2)) : text);
}

/** The value of one sample in Prometheus text, or undefined. */
function sample(metrics: string, name: string, labels: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

forEachStore((target) => {
  const feedsDir = tempDir();
  let spur: FakeSpur;
  let db: TestDatabase;
  let store: Store;
  const update = (...args: string[]) =>
    runCli(['update', ...args], {
      IPOID_DB_URL: db.url,
      SPUR_FEED_BASE_URL: spur.url,
      SPUR_API_TOKEN: TOKEN,
      SPUR_API_TOKEN_FILE: '',
      IPOID_FEEDS: 'anonymous',
      IPOID_DOWNLOAD_DIR: tempDir(),
      IPOID_DOWNLOAD_RETRY_SECONDS: '0.01',
      IPOID_MAX_FEED_AGE_DAYS: '0',
      IPOID_MAX_CHANGE_RATIO: '',
    });
  const anonymous = async () => (await store.feedStatus()).find((s) => s.feed === 'anonymous')!;
  /** What the API tells about the feeds: /_info's entry for anonymous, /readyz, and the refusal gauge. */
  const apiView = async () => {
    const { app, base } = await serve(store); // a new server: no cached metrics
    try {
      const info = (await request(`${base}/_info`)).json.feeds.find((f: { feed: string }) => f.feed === 'anonymous');
      const ready = await request(`${base}/readyz`);
      const refused = sample((await request(`${base}/metrics`)).text, 'ipoid_feed_import_refused', 'feed="anonymous"');
      return { info, ready, refused };
    } finally {
      await app.close();
    }
  };

  before(async () => {
    await writeFeed(feedsDir, 'anonymous', '20260101', 1);
    spur = await startFakeSpur({ dir: feedsDir, token: TOKEN });
    db = await target.createDatabase();
    const first = await update();
    assert.equal(first.code, 0, first.stderr);
    store = await openStore(db.url);
  });
  after(async () => {
    await store.close();
    await db.drop();
    await spur.close();
  });

  test('a feed cut mid-record inside a whole gzip fails as truncated, keeps the data and its date unimported; the good file then imports', async () => {
    await writeFeed(feedsDir, 'anonymous', '20260102', 2, '20260101');
    const good = readFileSync(feedFile(feedsDir, '20260102'));
    writeFileSync(feedFile(feedsDir, '20260102'), shortened(good, true));
    const before = await storedSnapshot(store);

    const cut = await update();
    assert.equal(cut.code, 1, cut.stderr);
    assert.deepEqual(
      jsonLines(cut.stdout).map((l) => [l.status, l.feedDate]),
      [['failed', '2026-01-02']],
    );
    assert.match(
      cut.stderr,
      /ipoid: anonymous: import failed, stored data unchanged: cannot read feed: it looks truncated: its last line \(\d+\) has no newline/,
    );
    assert.equal(await storedSnapshot(store), before);
    assert.equal((await anonymous()).lastImport?.feedDate, '2026-01-01');
    assert.equal((await store.importRuns({ limit: 1 }))[0]?.status, 'failed');

    writeFileSync(feedFile(feedsDir, '20260102'), good);
    const retry = await update();
    assert.equal(retry.code, 0, retry.stderr);
    assert.deepEqual(
      jsonLines(retry.stdout).map((l) => [l.status, l.feedDate]),
      [['imported', '2026-01-02']],
    );
    assert.equal((await anonymous()).lastImport?.feedDate, '2026-01-02');
  });

  test('a feed cut at a line boundary is refused by the change limit: exit 5, recorded with its counts, shown by the API; the good file then imports', async () => {
    await writeFeed(feedsDir, 'anonymous', '20260103', 3, '20260102');
    const good = readFileSync(feedFile(feedsDir, '20260103'));
    writeFileSync(feedFile(feedsDir, '20260103'), shortened(good, false));
    const before = await storedSnapshot(store);
    const stored = (await anonymous()).lastImport!.records;

    const refused = await update();
    assert.equal(refused.code, 5, refused.stderr);
    const [line] = jsonLines(refused.stdout);
    assert.deepEqual([line?.feed, line?.status, line?.feedDate, line?.records], ['anonymous', 'refused', '2026-01-03', stored]);
    assert.ok(Number(line?.deleted) > stored * 0.8, `would delete most records: ${refused.stdout}`);
    assert.match(
      refused.stderr,
      /^ipoid: anonymous: import of 2026-01-03 refused, stored data unchanged: it would delete \d+ and update \d+ of the \d+ stored records \([\d.]+%\), more than the limit of 25% \(IPOID_MAX_CHANGE_RATIO\); if the file is right, apply it with: ipoid update --force --feed anonymous$/m,
    );
    assert.equal(await storedSnapshot(store), before);
    const [run] = await store.importRuns({ limit: 1 });
    assert.deepEqual(
      [run?.status, run?.feedDate, run?.inserted, run?.updated, run?.deleted, run?.records],
      ['refused', '2026-01-03', line?.inserted, line?.updated, line?.deleted, stored],
    );
    assert.match(run?.error ?? '', /apply it anyway with --force/);
    assert.equal((await anonymous()).lastImport?.feedDate, '2026-01-02', 'a refused date does not count as imported');
    assert.deepEqual((await anonymous()).lastRefused, run);

    const shown = await apiView();
    assert.deepEqual(shown.info.refused, {
      startedAt: run!.startedAt.toISOString(),
      feedDate: '2026-01-03',
      inserted: run!.inserted,
      updated: run!.updated,
      deleted: run!.deleted,
      error: run!.error,
    });
    assert.equal(shown.info.feedDate, '2026-01-02');
    // Yesterday's data is still valid: ready, with a warning, not a Service without replicas.
    assert.equal(shown.ready.status, 200);
    assert.deepEqual(shown.ready.json, { status: 'ready', warnings: [`anonymous: import of 2026-01-03 refused: ${run!.error}`] });
    assert.equal(shown.refused, 1);

    const cli = jsonLines((await runCli(['imports', '--limit', '1'], { IPOID_DB_URL: db.url })).stdout);
    assert.deepEqual(
      cli.map((r) => [r.status, r.deleted]),
      [['refused', run!.deleted]],
    );

    writeFileSync(feedFile(feedsDir, '20260103'), good);
    const retry = await update();
    assert.equal(retry.code, 0, retry.stderr);
    assert.deepEqual(
      jsonLines(retry.stdout).map((l) => [l.status, l.feedDate]),
      [['imported', '2026-01-03']],
    );
    const after = await apiView();
    assert.equal(after.info.refused, null);
    assert.deepEqual(after.ready.json, { status: 'ready' });
    assert.equal(after.refused, 0);
  });

  test('update --force applies a refused feed with the counts it was refused for', async () => {
    await writeFeed(feedsDir, 'anonymous', '20260104', 4, '20260103');
    writeFileSync(feedFile(feedsDir, '20260104'), shortened(readFileSync(feedFile(feedsDir, '20260104')), false));
    const refused = await update();
    assert.equal(refused.code, 5, refused.stderr);
    const [wouldBe] = jsonLines(refused.stdout);

    const forced = await update('--force');
    assert.equal(forced.code, 0, forced.stderr);
    const [applied] = jsonLines(forced.stdout);
    assert.deepEqual(
      [applied?.status, applied?.inserted, applied?.updated, applied?.deleted],
      ['imported', wouldBe?.inserted, wouldBe?.updated, wouldBe?.deleted],
    );
    assert.equal(applied?.records, Math.floor(RECORDS * KEPT_SHARE));
    assert.equal((await anonymous()).lastRefused, null);
  });
});
