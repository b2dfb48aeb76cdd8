import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseIp } from '../../src/feed/ip.ts';
import { importFeed } from '../../src/import/importer.ts';
import { lookupAsOf } from '../../src/history/as-of.ts';
import { feedDay } from '../../src/history/feed-day.ts';
import type { Store } from '../../src/store/types.ts';
import { expireStaleFeeds } from '../../src/update/expire.ts';
import { quietLogger, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { forEachStore, freshStore } from '../helpers/stores.ts';

const NOW = new Date('2026-11-25T12:00:00Z');

forEachStore((target) => {
  let store: Store;
  let close: () => Promise<void>;
  before(async () => {
    ({ store, close } = await freshStore(target));
    await importFeed(store, SAMPLE_FEED, { feed: 'anonymous', feedDate: '2026-11-15', logger: quietLogger });
    await importFeed(store, SAMPLE_FEED, { feed: 'anonymous-residential', feedDate: '2026-11-24', logger: quietLogger });
  });
  after(async () => close());

  test('data older than the limit is removed and the removal recorded; fresh feeds stay', async () => {
    const expired = await expireStaleFeeds(store, 7, quietLogger, NOW);
    assert.deepEqual(expired, [{ feed: 'anonymous', feedDate: '2026-11-15', deleted: 10 }]);
    assert.deepEqual(
      (await store.lookup(parseIp('1.1.1.1'))).map((r) => r.feed),
      ['anonymous-residential'],
    );
    const [run] = await store.importRuns({ limit: 1 });
    assert.equal(run?.feed, 'anonymous');
    assert.equal(run?.records, 0);
    assert.equal(run?.deleted, 10);
    assert.match(run?.error ?? '', /^expired: data 10\.5 days old, more than IPOID_MAX_FEED_AGE_DAYS=7$/);
    // History files the removal under the day it happened: the days before still had the data.
    assert.equal(run?.dataDate, '2026-11-25');
    const before = await lookupAsOf(store, parseIp('1.1.1.1'), feedDay('2026-11-20'));
    assert.deepEqual(
      before.found.map((f) => f.record.feed),
      ['anonymous'],
    );
  });

  test('expiry is not repeated, and a larger limit keeps everything', async () => {
    assert.deepEqual(await expireStaleFeeds(store, 7, quietLogger, NOW), []);
    assert.deepEqual(await expireStaleFeeds(store, 30, quietLogger, new Date('2026-12-01T00:00:00Z')), []);
    assert.equal((await store.lookup(parseIp('1.1.1.1'))).length, 1);
  });
});
