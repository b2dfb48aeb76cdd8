import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { FEED_IDS, type FeedType } from '../../src/feed/feed-types.ts';
import { keyText } from '../../src/feed/ip.ts';
import { importFeed } from '../../src/import/importer.ts';
import type { DataRow } from '../../src/store/rows.ts';
import { byKey, type RecordKey } from '../../src/store/realtime-keys.ts';
import type { FeedStatus, Store } from '../../src/store/types.ts';
import { jsonLinesFeed, quietLogger, tempDir } from '../helpers/fixtures.ts';
import { indexBuilt, request, serve } from '../helpers/http.ts';
import { ANONYMOUS_DAY, RESIDENTIAL_DAY } from '../helpers/lookup-records.ts';
import { mergePublishedSlot } from '../helpers/realtime.ts';
import { execBehind, forEachStore, freshStore } from '../helpers/stores.ts';

/*
 * A realtime slot keeps the keys it wrote with its run, an import's are in its day's history,
 * and an API process patches its lookup index with those records only (Store.scanChanges),
 * instead of reading the whole store again: answers must be the database's all the same.
 */

const FEED = 'anonymous-residential';
const DAY = RESIDENTIAL_DAY;
const OTHER = ANONYMOUS_DAY;
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

const keyOf = (row: RecordKey) => `${keyText(row.ip, row.prefix_len)}#${row.feed_id}`;

async function rowsOf(scan: (visit: (row: DataRow) => void, gone: (key: RecordKey) => void) => Promise<FeedStatus[] | null>) {
  const rows: DataRow[] = [];
  const gone: string[] = [];
  const statuses = await scan(
    (row) => rows.push(row),
    (key) => gone.push(keyOf(key)),
  );
  return { statuses, rows, gone };
}

forEachStore((target) => {
  let store: Store;
  let close: () => Promise<void>;
  const slotsDir = tempDir();
  const apply = (slot: string, lines: object[], feed: FeedType = FEED) => mergePublishedSlot(store, slotsDir, feed, slot, lines);
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
      const { statuses, rows } = await rowsOf((visit, gone) => store.scanChanges(day, 100, { record: visit, gone }));
      assert.deepEqual(statuses, day);
      assert.deepEqual(rows, []);
    });

    test("after a slot, exactly the records it created or merged into, as a whole scan reads them, in the scan's order", async () => {
      await apply('20260301/0005', SLOT_1);
      const { statuses, rows } = await rowsOf((visit, gone) => store.scanChanges(day, 100, { record: visit, gone }));
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
      const sinceDay = await rowsOf((visit, gone) => store.scanChanges(day, 100, { record: visit, gone }));
      assert.equal(sinceDay.rows.length, 5);
      const sinceSlot1 = await rowsOf((visit, gone) => store.scanChanges(afterSlot1, 100, { record: visit, gone }));
      assert.deepEqual(sinceSlot1.rows.map(keyOf), [`2001:db8::/48#${FEED_IDS[FEED]}`]);
      assert.match(sinceSlot1.rows[0]!.context, /Carrier, merged/);
    });

    test('none when more keys changed than asked for: nothing read', async () => {
      const over = await rowsOf((visit, gone) => store.scanChanges(day, 4, { record: visit, gone }));
      assert.deepEqual(over, { statuses: null, rows: [], gone: [] });
    });

    test('a record a slot wrote that went behind its back is read as gone; none when a slot kept no keys (merged by an older IPoid)', async () => {
      const sinceSlots = (since: FeedStatus[]) => rowsOf((visit, gone) => store.scanChanges(since, 100, { record: visit, gone }));
      const before3 = await store.feedStatus();
      await apply('20260301/0015', [{ ip: '192.0.2.77', organization: 'Gone behind its back' }]);
      assert.deepEqual((await sinceSlots(before3)).rows.map(keyOf), [`192.0.2.77#${FEED_IDS[FEED]}`]);
      await execBehind(url, "DELETE FROM ip_data WHERE ip_text = '192.0.2.77'");
      const afterDelete = await sinceSlots(before3);
      assert.deepEqual(afterDelete.statuses, await store.feedStatus());
      assert.deepEqual(afterDelete.gone, [`192.0.2.77#${FEED_IDS[FEED]}`]);
      assert.deepEqual(afterDelete.rows, []);
      const before4 = await store.feedStatus();
      await apply('20260301/0020', [{ ip: '192.0.2.78', organization: 'Keys lost' }]);
      assert.ok((await sinceSlots(before4)).statuses);
      await execBehind(url, 'DELETE FROM realtime_keys');
      assert.equal((await sinceSlots(before4)).statuses, null);
    });

    test('a slot of more keys than one read takes (MariaDB reads 500 a statement): all, in order; one gone in the middle, gone in its place', async () => {
      const before = await store.feedStatus();
      const addresses = Array.from({ length: 1100 }, (_, i) => `10.9.${Math.floor(i / 200)}.${(i % 200) + 1}`);
      await apply(
        '20260301/0025',
        addresses.map((ip) => ({ ip, organization: `Many ${ip}` })),
      );
      const { rows } = await rowsOf((visit, gone) => store.scanChanges(before, 2000, { record: visit, gone }));
      const all = (await rowsOf((visit) => store.scanRecords(visit))).rows;
      assert.deepEqual(
        rows,
        all.filter((row) => addresses.includes(keyText(row.ip, row.prefix_len))),
      );
      assert.equal(rows.length, 1100);
      await execBehind(url, "DELETE FROM ip_data WHERE ip_text = '10.9.3.150'"); // the 750th key: the second of three reads
      const order: string[] = [];
      await store.scanChanges(before, 2000, {
        record: (row) => order.push(keyText(row.ip, row.prefix_len)),
        gone: (key) => order.push(`gone ${keyText(key.ip, key.prefix_len)}`),
      });
      assert.deepEqual(
        order,
        addresses.map((ip) => (ip === '10.9.3.150' ? `gone ${ip}` : ip)),
      );
    });
  });

  describe('the keys a full import wrote, and the slots before it', () => {
    let url: string;
    let base: FeedStatus[];
    let baseRows: DataRow[];
    before(async () => {
      ({ store, url, close } = await freshStore(target));
      await importDay(FEED, DAY);
      await importDay('anonymous', OTHER);
      await apply('20260301/0005', SLOT_1);
      base = await store.feedStatus();
      baseRows = (await rowsOf((visit) => store.scanRecords(visit))).rows;
    });
    after(async () => close());

    /** The base's rows with the patch's rows in place and its gone keys out: what a patched index holds. */
    const patched = (patch: { rows: DataRow[]; gone: string[] }) => {
      const rows = new Map(baseRows.map((row) => [keyOf(row), row]));
      for (const row of patch.rows) rows.set(keyOf(row), row);
      for (const key of patch.gone) rows.delete(key);
      return [...rows.values()];
    };

    test("after a slot and the next day's file: the base patched is the whole store, records the file removed gone", async () => {
      await apply('20260301/0010', SLOT_2);
      // The next day drops a network and an address, and the records the slots added.
      const NEXT = [{ ip: '198.51.100.2', organization: 'Two, next day' }, DAY[3]!];
      const options = { feed: FEED, feedDate: '2026-03-02', logger: quietLogger, force: true } as const;
      const { inserted, updated, deleted } = await importFeed(store, jsonLinesFeed(NEXT), options);
      assert.deepEqual({ inserted, updated, deleted }, { inserted: 0, updated: 2, deleted: 4 });
      const patch = await rowsOf((visit, gone) => store.scanChanges(base, 100, { record: visit, gone }));
      assert.deepEqual(patch.statuses, await store.feedStatus());
      for (const key of ['198.51.100.1', '203.0.113.0/24', '192.0.2.9', '203.0.113.128/25'])
        assert.ok(patch.gone.includes(`${key}#${FEED_IDS[FEED]}`), key);
      const now = (await rowsOf((visit) => store.scanRecords(visit))).rows;
      assert.deepEqual(patched(patch).sort(byKey), now);
    });

    test("none when the import kept no history, or its day's keys are no longer there", async () => {
      const sinceBase = async () => (await rowsOf((visit, gone) => store.scanChanges(base, 100, { record: visit, gone }))).statuses;
      assert.ok(await sinceBase());
      await execBehind(url, 'UPDATE import_run SET history_kept = 0 WHERE data_date = 20260302');
      assert.equal(await sinceBase(), null);
      await execBehind(url, 'UPDATE import_run SET history_kept = 1 WHERE data_date = 20260302');
      assert.ok(await sinceBase());
      // The day's keys moved out of its way, as a prune would take them, and back.
      await execBehind(url, 'UPDATE ip_history_day SET ended_on = 20990101 WHERE ended_on = 20260302');
      assert.equal(await sinceBase(), null);
      await execBehind(url, 'UPDATE ip_history_day SET ended_on = 20260302 WHERE ended_on = 20990101');
      assert.ok(await sinceBase());
    });

    test("an index read before the feed's previous file is built whole: the next file drops the keys of the slots before that one", async () => {
      const since = await store.feedStatus();
      const options = { feed: FEED, feedDate: '2026-03-03', logger: quietLogger, force: true } as const;
      await importFeed(store, jsonLinesFeed([DAY[3]!]), options);
      assert.equal((await rowsOf((visit, gone) => store.scanChanges(base, 100, { record: visit, gone }))).statuses, null);
      const patch = await rowsOf((visit, gone) => store.scanChanges(since, 100, { record: visit, gone }));
      assert.deepEqual(patch.gone, [`198.51.100.2#${FEED_IDS[FEED]}`]);
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

    test("is patched after the next day's file too: the records it removed are answered no more", async () => {
      const NEXT = [{ ip: '198.51.100.2', organization: 'Two, next day' }, DAY[3]!];
      const options = { feed: FEED, feedDate: '2026-03-02', logger: quietLogger, force: true } as const;
      // The six keys of the residential feed the slots or the file wrote, and the other feed's one.
      const info = await sameAsDatabase(() => importFeed(store, jsonLinesFeed(NEXT), options), 7, '"198.51.100.1":null');
      assert.equal(info.records, NEXT.length + OTHER.length);
      for (const gone of ['198.51.100.1', '203.0.113.5', '192.0.2.9'])
        assert.equal((await request(`${memory.base}/feed/v1/ip/${gone}`)).status, 404, gone);
    });
  });
});
