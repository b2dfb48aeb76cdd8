import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { FeedType } from '../../src/feed/feed-types.ts';
import { parseIp } from '../../src/feed/ip.ts';
import { importFeed } from '../../src/import/importer.ts';
import { FIELDS } from '../../src/lookup/field-dictionary.ts';
import { foldOverlay } from '../../src/lookup/fold.ts';
import { IndexBuilder, LookupIndex, type IndexParts } from '../../src/lookup/lookup-index.ts';
import type { Store } from '../../src/store/types.ts';
import { jsonLinesFeed, quietLogger, tempDir } from '../helpers/fixtures.ts';
import { indexBuilt, request } from '../helpers/http.ts';
import { ANONYMOUS_DAY, RESIDENTIAL_DAY } from '../helpers/lookup-records.ts';
import { mergePublishedSlot } from '../helpers/realtime.ts';
import { forEachStore, freshStore } from '../helpers/stores.ts';
import { buildServer } from '../../src/api/server.ts';

/*
 * A patch big enough is folded into the lookup index's base (lookup/fold.ts) instead of kept
 * beside it: the folded base must be, row for row, what a whole build reads at the patch's
 * snapshot, and an API process must answer from it as the database does.
 */

const FEED = 'anonymous-residential';
// (203.0.113.0/24 is the only network of its length: the next day drops it.)
const DAY = [
  ...RESIDENTIAL_DAY,
  { network: '192.0.2.55/32', organization: 'Spelled as a network' },
  { ip: '2001:db8:1::5', organization: 'Six' },
];
const OTHER = ANONYMOUS_DAY;
const SLOT = [
  { ip: '198.51.100.1', organization: 'One, merged' },
  { ip: '192.0.2.9', organization: 'New' },
  { network: '10.0.0.0/25', organization: 'Inner, a new length' },
];
const NEXT_DAY = [
  { ip: '198.51.100.2', organization: 'Two, next day', risks: ['CALLBACK_PROXY'] },
  DAY[3]!,
  { network: '192.0.2.66/32', organization: 'Spelled too' },
  { network: '10.0.0.0/25', organization: 'Inner, kept' },
  { ip: '2001:db8:2::7', organization: 'Seven', client: { count: 7 } },
];
const ADDRESSES = [
  '198.51.100.1',
  '198.51.100.2',
  '203.0.113.9',
  '2001:db8::1',
  '192.0.2.55',
  '192.0.2.66',
  '2001:db8:1::5',
  '10.0.0.3',
  '2001:db8:2::7',
];

async function wholeBuild(store: Store): Promise<IndexParts> {
  const builder = new IndexBuilder();
  return builder.finish(await store.scanRecords((row) => builder.add(row)), { shared: true });
}

async function patchOf(store: Store, base: IndexParts): Promise<IndexParts> {
  const builder = new IndexBuilder();
  const statuses = await store.scanChanges(base.statuses, 1000, { record: (row) => builder.add(row), gone: (key) => builder.remove(key) });
  assert.ok(statuses, 'the patch could be made');
  return builder.finish(statuses, { shared: false });
}

/** Every row of the index's segments, its field ids read through the dictionaries: what lookups can see. */
function decoded(parts: IndexParts) {
  return [parts.v4, parts.other].map((segment) =>
    Array.from(segment.feeds, (feed, row) => ({
      key: [...segment.keys.subarray(row * segment.width, (row + 1) * segment.width)],
      feed,
      lastUpdated: segment.lastUpdated[row],
      fields: FIELDS.map((_, f) => parts.values[f]![segment.fields[f]![row]!]),
      text: segment.texts.get(row),
      gone: segment.gone.has(row),
    })),
  );
}

function assertSameIndex(folded: IndexParts, whole: IndexParts): void {
  assert.deepEqual(decoded(folded), decoded(whole));
  assert.deepEqual(folded.lengths, whole.lengths);
  assert.deepEqual(folded.statuses, whole.statuses);
  for (const address of ADDRESSES)
    assert.deepEqual(new LookupIndex(folded).lookup(parseIp(address)), new LookupIndex(whole).lookup(parseIp(address)), address);
}

forEachStore((target) => {
  let store: Store;
  let close: () => Promise<void>;
  const slotsDir = tempDir();
  const apply = (slot: string, lines: object[], feed: FeedType = FEED) => mergePublishedSlot(store, slotsDir, feed, slot, lines);
  const importDay = (feed: FeedType, records: object[], feedDate = '2026-03-01') =>
    importFeed(store, jsonLinesFeed(records), { feed, feedDate, logger: quietLogger, force: true });

  describe('a patch folded into the index', () => {
    before(async () => {
      ({ store, close } = await freshStore(target));
      await importDay(FEED, DAY);
      await importDay('anonymous', OTHER);
    });
    after(async () => close());

    test("after a slot and the next day's file, the base with the patch folded in is what a whole build reads", async () => {
      const base = await wholeBuild(store);
      await apply('20260301/0005', SLOT);
      await importDay(FEED, NEXT_DAY, '2026-03-02');
      const folded = foldOverlay(base, await patchOf(store, base));
      const whole = await wholeBuild(store);
      assertSameIndex(folded, whole);
      // The day dropped the only /24: lookups no longer probe it.
      assert.ok(!folded.lengths.includes(96 + 24));
      assert.ok(new LookupIndex(folded).lookup(parseIp('203.0.113.9')).length === 0);
    });

    test('folded twice, with values the base never had: still what a whole build reads', async () => {
      const base = await wholeBuild(store);
      await apply('20260302/0005', [
        { ip: '198.51.100.2', organization: 'Anon Two, merged', risks: ['WEB_SCRAPING'] },
        { network: '192.0.2.77/32', organization: 'Spelled, a slot' },
      ]);
      const once = foldOverlay(base, await patchOf(store, base));
      await apply('20260302/0010', [{ ip: '198.51.100.1', organization: 'One, again', client: { count: 3 } }], 'anonymous');
      const twice = foldOverlay(once, await patchOf(store, once));
      assertSameIndex(twice, await wholeBuild(store));
    });
  });

  describe('an API process whose patch reaches a thirty-second of its base', () => {
    let app: FastifyInstance;
    let base: string;
    const logLines: Record<string, unknown>[] = [];
    const many = (tag: string) =>
      Array.from({ length: 1100 }, (_, i) => ({ ip: `10.8.${Math.floor(i / 200)}.${(i % 200) + 1}`, organization: `${tag} ${i}` }));
    before(async () => {
      ({ store, close } = await freshStore(target));
      await importDay(FEED, [...DAY, ...many('Day')]);
      const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
      app = buildServer({ store, logger, config: { tokens: [], lookupIndex: 'memory' } });
      base = await app.listen({ host: '127.0.0.1', port: 0 });
      await indexBuilt(base, DAY.length + 1100);
    });
    after(async () => {
      await app.close();
      await close();
    });

    const batch = async (addresses: string[]) => {
      const { status, text } = await request(`${base}/feed/v1/ips`, { method: 'POST', body: { ips: addresses } });
      assert.equal(status, 200, text);
      return JSON.parse(text) as Record<string, { org?: string } | null>;
    };
    /** Applies the slot, then waits for the index's next patch and gives its log line. */
    const patchedBy = async (slot: string, lines: object[]) => {
      const before = logLines.length;
      await apply(slot, lines);
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await delay(50)) {
        await request(`${base}/feed/v1/ip/198.51.100.1`); // lookups ask for the newer version
        const line = logLines.slice(before).find((entry) => entry.msg === 'lookup index patched' || entry.msg === 'lookup index built');
        if (line) return line;
      }
      return assert.fail('the index was not patched within a minute');
    };

    test('is folded: one base again, answering the slot as the database does', async () => {
      const line = await patchedBy('20260301/0005', many('Slot'));
      assert.equal(line.msg, 'lookup index patched');
      assert.equal(line.folded, true);
      assert.equal(line.keys, 1100);
      const info = (await request(`${base}/_info`)).json.lookupIndex;
      assert.equal(info.patchedRecords, 0);
      assert.equal(info.records, DAY.length + 1100);
      const answered = await batch(['10.8.0.1', '10.8.5.100', '10.8.5.101', '198.51.100.1']);
      assert.equal(answered['10.8.0.1']?.org, 'Slot 0');
      assert.equal(answered['10.8.5.100']?.org, 'Slot 1099');
      assert.equal(answered['10.8.5.101'], null);
      assert.equal(answered['198.51.100.1']?.org, 'One');
    });

    test('a smaller patch after the fold is kept beside the folded base', async () => {
      const line = await patchedBy('20260301/0010', [{ ip: '10.8.0.2', organization: 'Slot again' }]);
      assert.equal(line.folded, false);
      assert.equal(line.keys, 1);
      const info = (await request(`${base}/_info`)).json.lookupIndex;
      assert.equal(info.patchedRecords, 1);
      const answered = await batch(['10.8.0.1', '10.8.0.2']);
      assert.equal(answered['10.8.0.1']?.org, 'Slot 0');
      assert.equal(answered['10.8.0.2']?.org, 'Slot again');
    });
  });
});
