import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importFeed } from '../../src/import/importer.ts';
import { startFakeSpur, type FakeSpur } from '../../src/spur/fake-server.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { jsonLines, runCli } from '../helpers/cli.ts';
import { quietLogger, SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';
import { storedSnapshot } from '../helpers/snapshot.ts';
import { leftovers, TOKEN, writeFeed } from '../helpers/spur-feeds.ts';

// A real full file system: a 16 KiB tmpfs, smaller than the compressed feed. Mounting needs
// root (as in CI); elsewhere the test says why it did not run.
const SIZE_KIB = 16;
const downloadDir = tempDir();

function mountSmallTmpfs(): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE_KIB}k`, 'tmpfs', downloadDir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `cannot mount a tmpfs here (needs root): ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}`;
  }
}

const unmountable = mountSmallTmpfs();

describe('the download directory is full', { skip: unmountable ?? false }, () => {
  const feedsDir = tempDir();
  const dbUrl = `sqlite:${join(tempDir(), 'ipoid.db')}`;
  let spur: FakeSpur;
  let store: Store;
  before(async () => {
    await writeFeed(feedsDir, 'anonymous', '20260101', 7);
    spur = await startFakeSpur({ dir: feedsDir, token: TOKEN });
    store = await openStore(dbUrl);
    await importFeed(store, SAMPLE_FEED, { feed: 'anonymous', logger: quietLogger });
  });
  after(async () => {
    await spur.close();
    await store.close();
    execFileSync('umount', [downloadDir]);
  });

  const update = (dir: string, ...args: string[]) =>
    runCli(['update', ...args], {
      IPOID_DB_URL: dbUrl,
      IPOID_DOWNLOAD_DIR: dir,
      SPUR_FEED_BASE_URL: spur.url,
      SPUR_API_TOKEN: TOKEN,
      IPOID_FEEDS: 'anonymous',
      IPOID_MAX_FEED_AGE_DAYS: '0',
    });

  test('the update fails with a message naming the directory, leaves no partial file and keeps the data', async () => {
    const feedBytes = statSync(join(feedsDir, 'anonymous', '20260101', 'feed.json.gz')).size;
    assert.ok(feedBytes > SIZE_KIB * 1024, `the feed (${feedBytes} bytes) must not fit`);
    const before = await storedSnapshot(store);

    const result = await update(downloadDir);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`download directory ${downloadDir} is full: give IPOID_DOWNLOAD_DIR room`));
    assert.doesNotMatch(result.stderr, /\n\s+at .*\.[jt]s:\d+/, 'a message, not a stack trace');
    assert.deepEqual(
      jsonLines(result.stdout).map((l) => l.status),
      ['failed'],
    );
    assert.deepEqual(leftovers(downloadDir), [], 'the partial download is removed, freeing the space');
    assert.equal(await storedSnapshot(store), before);

    // The downloaded feed replaces the sample feed stored before: past the change limit on purpose.
    const roomy = await update(tempDir(), '--force');
    assert.equal(roomy.code, 0, roomy.stderr);
    assert.deepEqual(
      jsonLines(roomy.stdout).map((l) => l.status),
      ['imported'],
    );
  });
});
