import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseIp } from '../../src/feed/ip.ts';
import { startFakeSpur, type FakeSpur } from '../../src/spur/fake-server.ts';
import { openStore } from '../../src/store/open.ts';
import { tempDir } from '../helpers/fixtures.ts';
import { finished, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { PRIVATE_MARIADB_SKIP, PrivateMariadb } from '../helpers/private-mariadb.ts';
import { publishFullFile, publishSlot } from '../helpers/realtime.ts';
import { TOKEN } from '../helpers/spur-feeds.ts';

const FEED = 'anonymous-residential';

describe('the database goes away under a follower', { skip: PRIVATE_MARIADB_SKIP }, () => {
  let db: PrivateMariadb;
  let spur: FakeSpur;
  const feedsDir = tempDir();

  before(async () => {
    db = await PrivateMariadb.create();
    spur = await startFakeSpur({ dir: feedsDir, token: TOKEN });
  });
  after(async () => {
    await spur.close();
    await db.destroy();
  });

  test('the follower logs each failed pass, waits, and catches up once the database is back', async () => {
    publishFullFile(feedsDir, FEED, '20260105', [{ ip: '192.0.2.1', organization: 'File' }]);
    publishSlot(feedsDir, FEED, '20260105/0000', [{ ip: '192.0.2.1', organization: 'Slot 0000' }]);
    const child = spawnCli(['follow'], {
      IPOID_DB_URL: db.url('ipoid'),
      SPUR_FEED_BASE_URL: spur.url,
      SPUR_API_TOKEN: TOKEN,
      SPUR_API_TOKEN_FILE: '',
      IPOID_DOWNLOAD_DIR: tempDir(),
      IPOID_REALTIME_POLL_SECONDS: '0.2',
      IPOID_LOG_LEVEL: 'info',
    });
    const done = finished(child);
    try {
      await waitForOutput(child, '"slot":"2026-01-05T00:00Z","created":0,"merged":1');
      // Each wait listens before the event it waits for can happen.
      const failedPass = waitForOutput(child, 'follow pass failed; trying again at the next poll');
      await db.stop('SIGKILL');
      publishSlot(feedsDir, FEED, '20260105/0005', [{ ip: '192.0.2.1', organization: 'Slot 0005' }]);
      await failedPass;
      const caughtUp = waitForOutput(child, '"slot":"2026-01-05T00:05Z","created":0,"merged":1');
      await db.start();
      await caughtUp;
    } finally {
      child.kill('SIGTERM');
    }
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    const store = await openStore(db.url('ipoid'));
    try {
      const [record] = await store.lookup(parseIp('192.0.2.1'));
      assert.equal(record!.context.organization, 'Slot 0005');
    } finally {
      await store.close();
    }
  });
});
