import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SpurAuthError } from '../../src/spur/errors.ts';
import { startFakeSpur, type FakeSpur, type FakeSpurFaults } from '../../src/spur/fake-server.ts';
import type { Store } from '../../src/store/types.ts';
import { updateFeeds } from '../../src/update/update.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { forEachStore, freshStore } from '../helpers/stores.ts';
import { storedSnapshot } from '../helpers/snapshot.ts';
import { leftovers, RECORDS, testClient, TOKEN, writeFeed } from '../helpers/spur-feeds.ts';

const FEEDS = ['anonymous', 'anonymous-ipv6'] as const;
const isFileGet = (path: string): boolean => path.endsWith('/feed.json.gz');

forEachStore((target) => {
  const feedsDir = tempDir();
  const downloadDir = tempDir();
  // Read by the server at each request: a test sets the faults it needs.
  const faults: Record<string, FakeSpurFaults> = {};
  let spur: FakeSpur;
  let store: Store;
  let close: () => Promise<void>;

  const update = (settings: Parameters<typeof testClient>[1] = {}, dir = downloadDir) =>
    updateFeeds({ store, feeds: FEEDS, client: testClient(spur.url, settings), downloadDir: dir, logger: quietLogger });

  before(async () => {
    await writeFeed(feedsDir, 'anonymous', '20260101', 1);
    await writeFeed(feedsDir, 'anonymous-ipv6', '20260101', 2);
    spur = await startFakeSpur({ dir: feedsDir, token: TOKEN, faults });
    ({ store, close } = await freshStore(target));
  });
  after(async () => {
    await spur.close();
    await close();
  });

  test('a first update imports each configured feed with its date', async () => {
    const results = await update();
    assert.deepEqual(
      results.map((r) => [r.feed, r.status, r.feedDate, r.run?.inserted]),
      [
        ['anonymous', 'imported', '2026-01-01', RECORDS],
        ['anonymous-ipv6', 'imported', '2026-01-01', RECORDS],
      ],
    );
    const status = await store.feedStatus();
    assert.deepEqual(
      FEEDS.map((feed) => status.find((s) => s.feed === feed)?.lastImport?.feedDate),
      ['2026-01-01', '2026-01-01'],
    );
    assert.deepEqual(leftovers(downloadDir), []);
  });

  test('an update with the same feed date downloads nothing', async () => {
    const seen = spur.requests.length;
    const results = await update();
    assert.deepEqual(
      results.map((r) => r.status),
      ['up-to-date', 'up-to-date'],
    );
    const requests = spur.requests.slice(seen);
    assert.equal(requests.length, 2);
    assert.ok(
      requests.every((r) => !isFileGet(r.path)),
      JSON.stringify(requests),
    );
  });

  test('a new feed date applies exactly the difference', async () => {
    const churn = await writeFeed(feedsDir, 'anonymous', '20260102', 3, '20260101');
    const [anonymous, ipv6] = await update();
    assert.equal(anonymous?.status, 'imported');
    assert.equal(anonymous?.feedDate, '2026-01-02');
    assert.deepEqual(
      [anonymous?.run?.inserted, anonymous?.run?.updated, anonymous?.run?.deleted, anonymous?.run?.records],
      [churn.added, churn.changed, churn.removed, churn.records],
    );
    assert.ok(churn.added > 0 && churn.changed > 0 && churn.removed > 0);
    assert.equal(ipv6?.status, 'up-to-date');
  });

  test('a connection cut mid-file fails the feed after its retries, leaving the data and no temp files', async () => {
    await writeFeed(feedsDir, 'anonymous', '20260103', 4, '20260102');
    const before = await storedSnapshot(store);
    const seen = spur.requests.length;
    faults.anonymous = { cutAfterBytes: 1000 };
    const [anonymous, ipv6] = await update({ attempts: 2 });
    delete faults.anonymous;
    assert.equal(anonymous?.status, 'failed');
    assert.equal(anonymous?.feedDate, '2026-01-03');
    assert.match(anonymous?.error?.message ?? '', /broke off after \d+ of \d+ bytes: terminated \(other side closed\)/);
    assert.equal(spur.requests.slice(seen).filter((r) => isFileGet(r.path)).length, 2, 'one download per attempt');
    assert.equal(ipv6?.status, 'up-to-date', 'the other feed still ran');
    assert.equal(await storedSnapshot(store), before);
    assert.deepEqual(leftovers(downloadDir), []);
  });

  test('500s are retried with backoff until the feed comes through', async () => {
    faults.anonymous = { failFirst: 2 };
    const seen = spur.requests.length;
    const [anonymous] = await update({ attempts: 3 });
    delete faults.anonymous;
    assert.equal(anonymous?.status, 'imported', anonymous?.error?.message);
    assert.equal(anonymous?.feedDate, '2026-01-03');
    const statuses = spur.requests
      .slice(seen)
      .filter((r) => r.path.startsWith('/v2/anonymous/'))
      .map((r) => r.status);
    // Both the redirect and the file failed twice before answering.
    assert.deepEqual(statuses, [500, 500, 302, 500, 500, 200]);
    assert.deepEqual(leftovers(downloadDir), []);
  });

  test('a refused token fails every feed at once, without retrying, and changes nothing', async () => {
    await writeFeed(feedsDir, 'anonymous', '20260104', 5, '20260103');
    const before = await storedSnapshot(store);
    const seen = spur.requests.length;
    const results = await update({ token: 'wrong-token' });
    assert.deepEqual(
      results.map((r) => r.status),
      ['failed', 'failed'],
    );
    assert.ok(results.every((r) => r.error instanceof SpurAuthError));
    assert.deepEqual(
      spur.requests.slice(seen).map((r) => r.status),
      [401, 401],
    );
    assert.equal(await storedSnapshot(store), before);
  });

  test('a download trickling below the minimum rate fails cleanly', async () => {
    const before = await storedSnapshot(store);
    faults.anonymous = { trickleBytesPerSecond: 2000 };
    const [anonymous] = await update({ attempts: 1, stallTimeoutMs: 300, minBytesPerSecond: 50_000 });
    delete faults.anonymous;
    assert.equal(anonymous?.status, 'failed');
    assert.match(anonymous?.error?.message ?? '', /stalled/);
    assert.ok((anonymous?.seconds ?? Infinity) < 5);
    assert.equal(await storedSnapshot(store), before);
    assert.deepEqual(leftovers(downloadDir), []);
  });

  test('an unwritable download directory fails with a message naming it', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, '');
    const [anonymous] = await update({}, join(file, 'downloads'));
    assert.equal(anonymous?.status, 'failed');
    assert.match(
      anonymous?.error?.message ?? '',
      /download directory .*not-a-dir\/downloads is not writable \(ENOTDIR\).*IPOID_DOWNLOAD_DIR/,
    );
  });
});
