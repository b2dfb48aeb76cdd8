import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { FEED_IDS, type FeedType } from '../../src/feed/feed-types.ts';
import { keyText } from '../../src/feed/ip.ts';
import { importFeed } from '../../src/import/importer.ts';
import { applySlot } from '../../src/realtime/apply-slot.ts';
import { parseSlotPath } from '../../src/realtime/slot.ts';
import type { DataRow } from '../../src/store/rows.ts';
import type { FeedStatus, Store } from '../../src/store/types.ts';
import { jsonLinesFeed, quietLogger } from '../helpers/fixtures.ts';
import { indexBuilt, request, serve } from '../helpers/http.ts';
import { publishSlot } from '../helpers/realtime.ts';
import { scratchDir } from '../helpers/spur-feeds.ts';
import { execBehind, forEachStore, freshStore } from '../helpers/stores.ts';

/*
 * A realtime slot keeps the keys it wrote with its run, and an API process patches its lookup
 * index with those records only (Store.scanRealtimeChanges), instead of reading the whole store
 * again: answers must be the database's all the same.
 */

const FEED = 'anonymous-residential';
const DAY = [
  { ip: '198.51.100.1', organization: 'One', client: { count: 1 } },
  { ip: '198.51.100.2', organization: 'Two', risks: ['TUNNEL'] },
  { network: '203.0.113.0/24', organization: 'Outer' },
  { network: '2001:db8::/48', organization: 'Carrier' },
];
// The other feed holds a key of the first: a lookup gives both feeds' records, in feed order.
const OTHER = [{ ip: '198.51.100.2', organization: 'Anon Two' }];
const SLOT_1 = [
  { ip: '198.51.100.1', organization: 'One, merged' },
  { ip: '198.51.100.2', organization: 'Two, merged' },
  { ip: '192.0.2.9', organization: 'New' },
  // A network of a length nothing stored had: lookups must probe it.
  { network: '203.0.113.128/25', organization: 'Inner, new' },
  { ip: '198.51.100.1', client: { count: 0 } }, // an empty value changes nothing
];
const SLOT_2 = [{ network: '2001:db8::/48', organization: 'Carrier, merged' }];
const ADDRESSES = ['198.51.100.1', '198.51.100.2', '192.0.2.9', '203.0.113.200', '203.0.113.5', '2001:db8::7', '198.51.100.3'];

const keyOf = (row: DataRow) => `${keyText(row.ip, row.prefix_len)}#${row.feed_id}`;

async function rowsOf(scan: (visit: (row: DataRow) => void) => Promise<FeedStatus[] | null>) {
  const rows: DataRow[] = [];
  const statuses = await scan((row) => rows.push(row));
  return { statuses, rows };
}

forEachStore((target) => {
  let store: Store;
  let close: () => Promise<void>;
  const slotsDir = scratchDir();
  const apply = async (slot: string, lines: object[], feed: FeedType = FEED) => {
    const file = publishSlot(slotsDir, feed, slot, lines);
    assert.equal((await applySlot(store, file, { feed, slot: parseSlotPath(slot)!, logger: quietLogger })).status, 'applied');
  };
  const importDay = (feed: FeedType, records: object[], force = false) =>
    importFeed(store, jsonLinesFeed(records), { feed, feedDate: '2026-03-01', logger: quietLogger, force });

  describe('the records realtime slots wrote', () => {
    let day: FeedStatus[];
    let afterSlot1: FeedStatus[];
    let url: string;
    before(async () => {
      ({ store, url, close } = await freshStore(target));
      await importDay(FEED, DAY);
      await importDay('anonymous', OTHER);
      day = await store.feedStatus();
    });
    after(async () => close());

    test('none before a slot: the statuses, and nothing to read', async () => {
      const { statuses, rows } = await rowsOf((visit) => store.scanRealtimeChanges(day, 100, visit));
      assert.deepEqual(statuses, day);
      assert.deepEqual(rows, []);
    });

    test("after a slot, exactly the records it created or merged into, as a whole scan reads them, in the scan's order", async () => {
      await apply('20260301/0005', SLOT_1);
      const { statuses, rows } = await rowsOf((visit) => store.scanRealtimeChanges(day, 100, visit));
      afterSlot1 = await store.feedStatus();
      assert.deepEqual(statuses, afterSlot1);
      const all = (await rowsOf((visit) => store.scanRecords(visit))).rows;
      const written = ['192.0.2.9', '198.51.100.1', '198.51.100.2', '203.0.113.128/25'];
      assert.deepEqual(
        rows,
        all.filter((row) => row.feed_id === FEED_IDS[FEED] && written.includes(keyText(row.ip, row.prefix_len))),
      );
      assert.deepEqual(
        rows.map(keyOf),
        written.map((key) => `${key}#${FEED_IDS[FEED]}`),
      );
    });

    test('after a second slot: since the day, both slots; since the first, the second only', async () => {
      await apply('20260301/0010', SLOT_2);
      const sinceDay = await rowsOf((visit) => store.scanRealtimeChanges(day, 100, visit));
      assert.equal(sinceDay.rows.length, 5);
      const sinceSlot1 = await rowsOf((visit) => store.scanRealtimeChanges(afterSlot1, 100, visit));
      assert.deepEqual(sinceSlot1.rows.map(keyOf), [`2001:db8::/48#${FEED_IDS[FEED]}`]);
      assert.match(sinceSlot1.rows[0]!.context, /Carrier, merged/);
    });

    test('none when more keys changed than asked for, or when a full import came since: nothing read', async () => {
      const over = await rowsOf((visit) => store.scanRealtimeChanges(day, 4, visit));
      assert.deepEqual(over, { statuses: null, rows: [] });
      await importDay(FEED, DAY, true);
      const afterFull = await rowsOf((visit) => store.scanRealtimeChanges(day, 100, visit));
      assert.deepEqual(afterFull, { statuses: null, rows: [] });
    });

    test('none when a record a slot wrote is gone, or when a slot kept no keys (merged by an older IPoid)', async () => {
      const sinceSlots = async (since: FeedStatus[]) => (await rowsOf((visit) => store.scanRealtimeChanges(since, 100, visit))).statuses;
      const before3 = await store.feedStatus();
      await apply('20260301/0015', [{ ip: '192.0.2.77', organization: 'Gone behind its back' }]);
      assert.ok(await sinceSlots(before3));
      await execBehind(url, "DELETE FROM ip_data WHERE ip_text = '192.0.2.77'");
      assert.equal(await sinceSlots(before3), null);
      const before4 = await store.feedStatus();
      await apply('20260301/0020', [{ ip: '192.0.2.78', organization: 'Keys lost' }]);
      assert.ok(await sinceSlots(before4));
      await execBehind(url, 'DELETE FROM realtime_keys');
      assert.equal(await sinceSlots(before4), null);
    });

    test('a slot of more keys than one read takes (MariaDB reads 500 a statement): all, in order; one gone in the middle, none', async () => {
      const before = await store.feedStatus();
      const addresses = Array.from({ length: 1100 }, (_, i) => `10.9.${Math.floor(i / 200)}.${(i % 200) + 1}`);
      await apply(
        '20260301/0025',
        addresses.map((ip) => ({ ip, organization: `Many ${ip}` })),
      );
      const { rows } = await rowsOf((visit) => store.scanRealtimeChanges(before, 2000, visit));
      const all = (await rowsOf((visit) => store.scanRecords(visit))).rows;
      assert.deepEqual(
        rows,
        all.filter((row) => addresses.includes(keyText(row.ip, row.prefix_len))),
      );
      assert.equal(rows.length, 1100);
      await execBehind(url, "DELETE FROM ip_data WHERE ip_text = '10.9.3.150'"); // the 750th key: the second of three reads
      assert.equal((await rowsOf((visit) => store.scanRealtimeChanges(before, 2000, visit))).statuses, null);
    });
  });

  describe('an API process', () => {
    let memory: { app: FastifyInstance; base: string };
    let database: { app: FastifyInstance; base: string };
    before(async () => {
      ({ store, close } = await freshStore(target));
      await importDay(FEED, DAY);
      await importDay('anonymous', OTHER);
      memory = await serve(store, [], { lookupIndex: 'memory' });
      database = await serve(store, [], { lookupIndex: 'database' });
      await indexBuilt(memory.base, DAY.length + OTHER.length);
    });
    after(async () => {
      await memory.app.close();
      await database.app.close();
      await close();
    });

    // The version the index answers (a batch carries no ETag: a single lookup's names it).
    const etag = async () => (await request(`${memory.base}/feed/v1/ip/${ADDRESSES[0]}`)).headers.get('etag');
    const batch = async (base: string) => {
      const { status, text } = await request(`${base}/feed/v1/ips`, { method: 'POST', body: { ips: ADDRESSES } });
      assert.equal(status, 200, text);
      return text;
    };
    /** Runs `change`, waits for the index to name newer data, then compares every answer (holding `expected`) with the database's. */
    const sameAsDatabase = async (change: () => Promise<unknown>, patchedRecords: number, expected: string) => {
      const before = await etag();
      await change();
      for (const deadline = Date.now() + 60_000; ; await delay(50)) {
        const info = (await request(`${memory.base}/_info`)).json.lookupIndex;
        if ((await etag()) !== before && !info.building) {
          const answered = await batch(memory.base);
          assert.ok(answered.includes(expected), answered);
          assert.equal(answered, await batch(database.base));
          assert.equal(info.patchedRecords, patchedRecords);
          return info;
        }
        assert.ok(Date.now() < deadline, 'the index never named newer data');
      }
    };

    test('is patched with each slot, the slots since its build in one overlay, and answers as the database does', async () => {
      const patched = await sameAsDatabase(() => apply('20260301/0005', SLOT_1), 4, 'Inner, new');
      assert.equal(patched.records, DAY.length + OTHER.length + 2);
      await sameAsDatabase(() => apply('20260301/0010', SLOT_2), 5, 'Carrier, merged');
      // The other feed's row of a key: the overlay's row comes first, before the base's row of the residential feed.
      await sameAsDatabase(
        () => apply('20260301/0015', [{ ip: '198.51.100.2', organization: 'Anon Two, merged' }], 'anonymous'),
        6,
        'Anon Two, merged',
      );
      const metrics = (await request(`${memory.base}/metrics`)).text;
      assert.match(metrics, /^ipoid_lookup_index_patched_records 6$/m);
    });

    test('is built whole again after a full import', async () => {
      const built = await sameAsDatabase(() => importDay(FEED, DAY.slice(1), true), 0, 'Anon Two, merged');
      assert.equal(built.records, DAY.length - 1 + OTHER.length);
    });
  });
});
