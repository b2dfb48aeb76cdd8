import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFakeSpur, type FakeSpur } from '../../src/spur/fake-server.ts';
import { openStore } from '../../src/store/open.ts';
import { tempDir } from '../helpers/fixtures.ts';
import { jsonLines, runCli } from '../helpers/cli.ts';
import { forEachStore, type TestDatabase } from '../helpers/stores.ts';
import { storedSnapshot } from '../helpers/snapshot.ts';
import { leftovers, RECORDS, TOKEN, writeFeed } from '../helpers/spur-feeds.ts';

const feedsDir = tempDir();
let spur: FakeSpur;

before(async () => {
  await writeFeed(feedsDir, 'anonymous', '20260101', 1);
  await writeFeed(feedsDir, 'anonymous-ipv6', '20260101', 2);
  await writeFeed(feedsDir, 'anonymous-residential', '20260101', 3);
  spur = await startFakeSpur({ dir: feedsDir, token: TOKEN });
});
after(async () => spur.close());

/** The environment of a CronJob run against the fake server, with debug logs on. */
const updateEnv = (extra: Record<string, string>): Record<string, string> => ({
  SPUR_FEED_BASE_URL: spur.url,
  SPUR_API_TOKEN: '',
  SPUR_API_TOKEN_FILE: '',
  IPOID_FEEDS: 'anonymous,anonymous-ipv6',
  IPOID_DOWNLOAD_RETRY_SECONDS: '0.01',
  IPOID_LOG_LEVEL: 'debug',
  // The fake feeds are dated 2026-01-01: keep them, except in the test of expiry itself.
  IPOID_MAX_FEED_AGE_DAYS: '0',
  ...extra,
});

forEachStore((target) => {
  let db: TestDatabase;
  const downloadDir = tempDir();
  const update = (env: Record<string, string>) =>
    runCli(['update'], updateEnv({ IPOID_DB_URL: db.url, IPOID_DOWNLOAD_DIR: downloadDir, ...env }));
  const digest = async (): Promise<string> => {
    const store = await openStore(db.url);
    try {
      return await storedSnapshot(store);
    } finally {
      await store.close();
    }
  };
  before(async () => {
    db = await target.createDatabase();
  });
  after(async () => db.drop());

  test('update with the token from a file imports each feed, one JSON line each, and never prints the token', async () => {
    const tokenFile = join(tempDir(), 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const result = await update({ SPUR_API_TOKEN_FILE: tokenFile });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      jsonLines(result.stdout).map((l) => [l.feed, l.status, l.feedDate, l.inserted]),
      [
        ['anonymous', 'imported', '2026-01-01', RECORDS],
        ['anonymous-ipv6', 'imported', '2026-01-01', RECORDS],
      ],
    );
    const summaries = jsonLines(result.stderr).filter((l) => l.msg === 'feed update');
    assert.deepEqual(
      summaries.map((l) => [l.feed, l.status]),
      [
        ['anonymous', 'imported'],
        ['anonymous-ipv6', 'imported'],
      ],
    );
    assert.ok(
      jsonLines(result.stderr).some((l) => l.msg === 'spur request'),
      'debug logs were on',
    );
    assert.ok(!`${result.stdout}${result.stderr}`.includes(TOKEN), 'the token leaked into the output');
    assert.deepEqual(leftovers(downloadDir), []);
  });

  test('a refused token exits 4 with a message, changes nothing and prints no token', async () => {
    const before = await digest();
    const wrong = 'wrong-token-77d2a0';
    const result = await update({ SPUR_API_TOKEN: wrong });
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /ipoid: anonymous: Spur refused access \(401\) .* check SPUR_API_TOKEN or SPUR_API_TOKEN_FILE/);
    assert.deepEqual(
      jsonLines(result.stdout).map((l) => l.status),
      ['failed', 'failed'],
    );
    assert.ok(!`${result.stdout}${result.stderr}`.includes(wrong), 'the token leaked into the output');
    assert.equal(await digest(), before);
  });

  test('an import running elsewhere makes update exit 3', async () => {
    const store = await openStore(db.url);
    const held = await store.beginImport('anonymous');
    try {
      const result = await update({ SPUR_API_TOKEN: TOKEN, IPOID_FEEDS: 'anonymous-residential' });
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /ipoid: anonymous-residential: another import is running/);
      assert.deepEqual(leftovers(downloadDir), []);
    } finally {
      const now = new Date();
      const counts = { linesRead: 0, skipped: 0, inserted: 0, updated: 0, deleted: 0, records: 0 };
      await held.rollback({
        feed: 'anonymous',
        kind: 'full',
        slot: null,
        feedDate: null,
        dataDate: '2026-01-01',
        file: null,
        startedAt: now,
        finishedAt: now,
        ...counts,
        status: 'failed',
        error: 'held by a test',
        skippedSample: [],
      });
      await store.close();
    }
  });

  test('feeds older than IPOID_MAX_FEED_AGE_DAYS are expired: reported per feed, exit 1', async () => {
    const result = await update({ SPUR_API_TOKEN: TOKEN, IPOID_MAX_FEED_AGE_DAYS: '7' });
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(
      jsonLines(result.stdout).map((l) => [l.feed, l.status, l.deleted]),
      [
        ['anonymous', 'up-to-date', undefined],
        ['anonymous-ipv6', 'up-to-date', undefined],
        ['anonymous', 'expired', RECORDS],
        ['anonymous-ipv6', 'expired', RECORDS],
      ],
    );
    assert.match(result.stderr, /ipoid: anonymous: data from 2026-01-01 expired \(older than 7 days\)/);
    const store = await openStore(db.url);
    try {
      assert.deepEqual((await store.list({ labels: [], limit: 1 })).records, []);
    } finally {
      await store.close();
    }
  });
});

test('update without a token, or with an unknown feed type, exits 2 before touching a database', async () => {
  const noDb = { IPOID_DB_URL: 'mariadb://nobody@127.0.0.1:1/none' };
  const missing = await runCli(['update'], updateEnv(noDb));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /ipoid: set SPUR_API_TOKEN \(or SPUR_API_TOKEN_FILE\)/);
  const unknown = await runCli(['update', '--feed', 'anonymous,bogus'], updateEnv({ ...noDb, SPUR_API_TOKEN: TOKEN }));
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown feed type "bogus"/);
});
