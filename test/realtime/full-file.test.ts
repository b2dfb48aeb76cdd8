import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SpurRecord } from '../../src/feed/schema.ts';
import { parseIp } from '../../src/feed/ip.ts';
import { importFeed, ImportRefusedError } from '../../src/import/importer.ts';
import { applySlot, MAX_SLOT_FAILURES, type SlotOutcome } from '../../src/realtime/apply-slot.ts';
import { Follower } from '../../src/realtime/follow.ts';
import { parseSlotPath, slotPath } from '../../src/realtime/slot.ts';
import { startFakeSpur, type FakeSpur } from '../../src/spur/fake-server.ts';
import type { Store } from '../../src/store/types.ts';
import { jsonLinesFeed, quietLogger, tempDir } from '../helpers/fixtures.ts';
import { publishFullFile, publishSlot } from '../helpers/realtime.ts';
import { testClient, TOKEN } from '../helpers/spur-feeds.ts';
import { forEachStore, freshStore } from '../helpers/stores.ts';

/*
 * How realtime slots and full files meet: the change limit, the date a replay starts from, a
 * refused file, a slot that never merges, and records a slot creates in a network feed.
 */
const FEED = 'anonymous-residential';
const record = (i: number, organization = `Org ${i}`): SpurRecord => ({ ip: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, organization });

forEachStore((target) => {
  let store: Store;
  let close: () => Promise<void>;
  const slotsDir = tempDir();
  const apply = (feed: typeof FEED | 'anonymous-ipv6', slot: string, lines: (object | string)[]): Promise<SlotOutcome> =>
    applySlot(store, publishSlot(slotsDir, feed, slot, lines), { feed, slot: parseSlotPath(slot)!, logger: quietLogger });
  const importDay = (records: SpurRecord[], feedDate: string, force = false) =>
    importFeed(store, jsonLinesFeed(records), { feed: FEED, feedDate, logger: quietLogger, force });

  describe('one store', () => {
    before(async () => ({ store, close } = await freshStore(target)));
    after(async () => close());

    test("the change limit leaves out the records slots wrote, counted once each, not the slots' merges", async () => {
      const day = Array.from({ length: 100 }, (_, i) => record(i));
      await importDay(day, '2026-01-02');
      // Thirty merges into one record, and one record created.
      for (let n = 0; n < 30; n++) {
        const slot = slotPath(new Date(Date.parse('2026-01-02T00:00:00Z') + n * 300_000));
        assert.equal((await apply(FEED, slot, [{ ip: record(0).ip, organization: `Merge ${n}` }])).status, 'applied');
      }
      assert.equal((await apply(FEED, '20260102/0230', [{ ip: '10.9.9.9', risks: ['SPAM'] }])).status, 'applied');
      // A broken file: 30 of the 98 records no slot touched are garbled (29.7% of the 101), besides undoing the slots.
      const garbled = day.map((r, i) => (i >= 50 && i < 80 ? record(i, 'GARBLED') : r));
      await assert.rejects(importDay(garbled, '2026-01-03'), (err: ImportRefusedError) => {
        assert.ok(err instanceof ImportRefusedError);
        assert.match(
          err.reason,
          /it would delete 1 and update 31 of the 101 stored records \(29\.7%, leaving out the 2 that realtime slots wrote/,
        );
        return true;
      });
      // A good file, which undoes both slots' records and changes 20 others (19.8%): applied.
      const good = day.map((r, i) => (i >= 50 && i < 70 ? record(i, 'Renamed') : r));
      const run = await importDay(good, '2026-01-03');
      assert.deepEqual([run.updated, run.deleted], [21, 1]);
    });

    test("a full file forced after midnight replays from its own date, though its run is filed under the next day's", async () => {
      // Slots went on past midnight on 01-03's file; then a corrected 01-03 file is forced in.
      assert.equal((await apply(FEED, '20260104/0005', [{ ip: record(1).ip, risks: ['SPAM'] }])).status, 'applied');
      await importDay(
        Array.from({ length: 100 }, (_, i) => record(i, 'Corrected')),
        '2026-01-03',
        true,
      );
      const status = (await store.feedStatus()).find((s) => s.feed === FEED)!;
      assert.deepEqual([status.lastImport!.feedDate, status.lastImport!.dataDate], ['2026-01-03', '2026-01-04']);
      // The slots of 01-03 come after the file of 01-03.
      assert.equal((await apply(FEED, '20260103/1200', [{ ip: record(2).ip, risks: ['TUNNEL'] }])).status, 'applied');
      assert.deepEqual((await store.lookup(parseIp(record(2).ip!)))[0]!.context, { ...record(2, 'Corrected'), risks: ['TUNNEL'] });
    });

    test(`a slot that fails to merge ${MAX_SLOT_FAILURES} times is given up, and the next one is merged`, async () => {
      for (let n = 0; n < MAX_SLOT_FAILURES; n++)
        await assert.rejects(apply(FEED, '20260104/1205', ['not json', 'nor this']), /import failed, stored data unchanged/);
      assert.equal((await apply(FEED, '20260104/1205', ['not json', 'nor this'])).status, 'given-up');
      assert.equal((await apply(FEED, '20260104/1210', [{ ip: record(3).ip, risks: ['SPAM'] }])).status, 'applied');
    });

    test('a slot planned from another full file than the one stored now is not merged', async () => {
      const file = publishSlot(slotsDir, FEED, '20260104/1215', [{ ip: record(3).ip, organization: 'Late' }]);
      const outcome = await applySlot(store, file, { feed: FEED, slot: parseSlotPath('20260104/1215')!, follows: 1, logger: quietLogger });
      assert.equal(outcome.status, 'full-file-changed');
    });

    test('a network a slot creates in an IPv6 feed answers lookups inside it and is listed by its labels', async () => {
      await importFeed(store, jsonLinesFeed([{ network: '2001:db8:1::/64', risks: ['TUNNEL'] }]), {
        feed: 'anonymous-ipv6',
        feedDate: '2026-01-04',
        logger: quietLogger,
      });
      const outcome = await apply('anonymous-ipv6', '20260104/0005', [{ network: '2001:db8:2::/48', client: { proxies: ['X_PROXY'] } }]);
      assert.equal(outcome.status, 'applied');
      assert.deepEqual(
        (await store.lookup(parseIp('2001:db8:2:5::1'))).map((r) => r.key),
        ['2001:db8:2::/48'],
      );
      const listed = await store.list({ labels: [{ kind: 'proxy', value: 'X_PROXY' }], limit: 10 });
      assert.deepEqual(
        listed.records.map((r) => r.key),
        ['2001:db8:2::/48'],
      );
    });
  });

  describe('a follower and a refused full file', () => {
    let spur: FakeSpur;
    const feedsDir = tempDir();
    before(async () => {
      ({ store, close } = await freshStore(target));
      spur = await startFakeSpur({ dir: feedsDir, token: TOKEN });
    });
    after(async () => {
      await spur.close();
      await close();
    });

    test('the refused file is downloaded and diffed once, not at every poll, and slots go on merging', async () => {
      const day = Array.from({ length: 20 }, (_, i) => record(i));
      publishFullFile(feedsDir, FEED, '20260105', day);
      const follower = new Follower({ store, feeds: [FEED], client: testClient(spur.url), downloadDir: tempDir(), logger: quietLogger });
      await follower.pass();
      publishFullFile(feedsDir, FEED, '20260106', day.slice(0, 5)); // three quarters gone: refused
      for (let poll = 0; poll < 3; poll++) {
        publishSlot(feedsDir, FEED, `20260105/00${String(poll * 5).padStart(2, '0')}`, [{ ip: record(poll).ip, risks: ['SPAM'] }]);
        const [result] = await follower.pass();
        assert.equal(result!.full.status, 'refused');
        assert.equal(result!.realtime.applied, 1, String(result!.realtime.error));
      }
      assert.equal(spur.requests.filter((r) => r.path.endsWith('20260106/feed.json.gz')).length, 1);
      assert.equal((await store.importRuns({ limit: 100 })).filter((run) => run.status === 'refused').length, 1);
    });
  });
});
