import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { utcDate } from '../../src/history/feed-day.ts';
import { importFeed } from '../../src/import/importer.ts';
import { applySlot } from '../../src/realtime/apply-slot.ts';
import { slotOf, slotPath } from '../../src/realtime/slot.ts';
import { expireStaleFeeds } from '../../src/update/expire.ts';
import type { Store } from '../../src/store/types.ts';
import { jsonLinesFeed, quietLogger, tempDir } from '../helpers/fixtures.ts';
import { request, serve, untilNewVersion } from '../helpers/http.ts';
import { publishSlot } from '../helpers/realtime.ts';
import { forEachStore, freshStore } from '../helpers/stores.ts';

const FEED = 'anonymous-residential';
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

forEachStore((target) => {
  let store: Store;
  let close: () => Promise<void>;
  let app: FastifyInstance;
  let base: string;
  // The full file is two days old; a slot from ten minutes ago keeps the feed fresh.
  const fileDate = utcDate(new Date(Date.now() - 2 * DAY_MS));
  const slot = slotOf(new Date(Date.now() - 10 * 60_000));

  before(async () => {
    ({ store, close } = await freshStore(target));
    const feed = jsonLinesFeed([{ ip: '192.0.2.1', organization: 'Org' }]);
    await importFeed(store, feed, { feed: FEED, feedDate: fileDate, logger: quietLogger });
    ({ app, base } = await serve(store, [], { readyMaxAgeSeconds: 1 * 60 * 60 }));
  });
  after(async () => {
    await app.close();
    await close();
  });

  test('before any slot, the two-day-old full file makes the API unready, with no realtime lag', async () => {
    const ready = await request(`${base}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(String((ready.json as { message: string }).message), /anonymous-residential is \d+\.\d h old/);
    const info = (await request(`${base}/_info`)).json as { feeds: { feed: string; realtime: unknown }[] };
    assert.equal(info.feeds.find((f) => f.feed === FEED)!.realtime, null);
    const metrics = (await request(`${base}/metrics`)).text;
    assert.doesNotMatch(metrics, /ipoid_feed_realtime_lag_seconds\{/);
    const age = Number(/^ipoid_feed_age_seconds\{feed="anonymous-residential"\} (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(age >= (2 * DAY_MS) / 1000 - 60, `age ${age}: from the file's date`);
  });

  test('a merged slot counts as fresh data: ready, /_info and the lag metric name it, and the ETag changes', async () => {
    const etag = (await request(`${base}/feed/v1/ip/192.0.2.1`)).headers.get('etag');
    const file = publishSlot(tempDir(), FEED, slotPath(slot), [
      { ip: '192.0.2.1', risks: ['SPAM'] },
      { ip: '192.0.2.2', risks: ['TUNNEL'] },
    ]);
    assert.equal((await applySlot(store, file, { feed: FEED, slot, logger: quietLogger })).status, 'applied');

    assert.equal((await request(`${base}/readyz`)).status, 200);
    // Nor does the update job expire a feed that realtime keeps fresh, though its file is older than the limit.
    assert.deepEqual(await expireStaleFeeds(store, 1, quietLogger), []);
    const info = (await request(`${base}/_info`)).json as { feeds: Record<string, unknown>[] };
    const feed = info.feeds.find((f) => f.feed === FEED)!;
    assert.equal(feed.feedDate, fileDate);
    assert.equal(feed.records, 2);
    const realtime = feed.realtime as { slot: string; lagSeconds: number; created: number; merged: number };
    assert.deepEqual(
      { slot: realtime.slot, created: realtime.created, merged: realtime.merged },
      {
        slot: slot.toISOString(),
        created: 1,
        merged: 1,
      },
    );
    assert.ok(realtime.lagSeconds >= 600 && realtime.lagSeconds < HOUR_MS / 1000, `lag ${realtime.lagSeconds}`);
    assert.ok(Number(feed.ageSeconds) >= 600 && Number(feed.ageSeconds) < HOUR_MS / 1000);

    // Scrapes read the feeds' status at most every 5 seconds.
    const LAG = /ipoid_feed_realtime_lag_seconds\{feed="anonymous-residential"\} (\d+)/;
    let metrics = (await request(`${base}/metrics`)).text;
    for (const deadline = Date.now() + 30_000; !LAG.test(metrics); metrics = (await request(`${base}/metrics`)).text) {
      assert.ok(Date.now() < deadline, `no realtime lag in /metrics after 30 s:\n${metrics}`);
      await sleep(200);
    }
    assert.ok(Number(LAG.exec(metrics)![1]) >= 600, metrics);
    const age = Number(/^ipoid_feed_age_seconds\{feed="anonymous-residential"\} (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(age >= 600 && age < HOUR_MS / 1000, `age ${age}: from the slot, as /_info's`);
    assert.match(metrics, /ipoid_feed_records\{feed="anonymous-residential"\} 2/);

    // The API reads the data's version at most once a second.
    await untilNewVersion(`${base}/feed/v1/ip/192.0.2.1`, etag);
    const answer = await request(`${base}/feed/v1/ip/192.0.2.1`);
    assert.equal(answer.status, 200);
    assert.deepEqual((answer.json as Record<string, { risks: string[] }>)['192.0.2.1']!.risks, ['SPAM']);
  });

  test("a newer full file replaces the slots' data: their slot is no longer what the data's age counts from, but the lag stays", async () => {
    const nextDate = utcDate(new Date(Date.now() - DAY_MS));
    await importFeed(store, jsonLinesFeed([{ ip: '192.0.2.1', organization: 'Org' }]), {
      feed: FEED,
      feedDate: nextDate,
      logger: quietLogger,
    });
    const feed = ((await request(`${base}/_info`)).json as { feeds: Record<string, unknown>[] }).feeds.find((f) => f.feed === FEED)!;
    assert.equal(feed.feedDate, nextDate);
    assert.equal(feed.records, 1);
    assert.ok(Number(feed.ageSeconds) >= DAY_MS / 1000 - 60, `age ${String(feed.ageSeconds)}`);
    const realtime = feed.realtime as { slot: string; sinceFullFile: boolean; lagSeconds: number };
    assert.deepEqual([realtime.slot, realtime.sinceFullFile], [slot.toISOString(), false]);
    assert.ok(realtime.lagSeconds >= 600 && realtime.lagSeconds < HOUR_MS / 1000);
    assert.equal((await request(`${base}/readyz`)).status, 503);
  });
});
