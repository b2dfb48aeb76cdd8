import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SpurRecord } from '../../src/feed/schema.ts';
import { parseIp } from '../../src/feed/ip.ts';
import { importFeed } from '../../src/import/importer.ts';
import { applySlot, type SlotOutcome } from '../../src/realtime/apply-slot.ts';
import { mergeRecord } from '../../src/realtime/merge.ts';
import { parseSlotPath } from '../../src/realtime/slot.ts';
import type { Store } from '../../src/store/types.ts';
import { jsonLinesFeed, quietLogger, tempDir } from '../helpers/fixtures.ts';
import { publishSlot } from '../helpers/realtime.ts';
import { storedSnapshot } from '../helpers/snapshot.ts';
import { forEachStore, freshStore } from '../helpers/stores.ts';

const FEED = 'anonymous-residential';

/** The stored record every rule starts from, one per case (its own address). */
const base = (ip: string): SpurRecord => ({
  ip,
  organization: 'Org A',
  infrastructure: 'DATACENTER',
  location: { city: 'Paris', country: 'FR' },
  risks: ['TUNNEL'],
  services: ['OPENVPN'],
  tunnels: [{ operator: 'NORD_VPN', type: 'VPN', anonymous: true }],
  client: { count: 5, types: ['DESKTOP'], proxies: ['OXYLABS_PROXY'], behaviors: ['FILE_SHARING'] },
});
const ADDRESSES = Array.from({ length: 12 }, (_, i) => `192.0.2.${i + 1}`);

describe('merge rules, as a function', () => {
  test('an update that changes nothing answers the stored record itself (nothing to write)', () => {
    const stored = base('192.0.2.1');
    assert.equal(mergeRecord(stored, { ip: '192.0.2.1', organization: '', client: { count: 0 } }), stored);
    assert.equal(mergeRecord(stored, { ip: '192.0.2.1', risks: ['TUNNEL'], tunnels: [{ operator: 'NORD_VPN' }] }), stored);
  });

  test('merging is associative: two updates merged first give what applying them in turn gives', () => {
    const stored = base('192.0.2.1');
    const a: SpurRecord = { ip: '192.0.2.1', organization: 'X', risks: ['SPAM'], tunnels: [{ operator: 'P1' }] };
    const b: SpurRecord = {
      ip: '192.0.2.1',
      organization: '',
      risks: ['GEO_MISMATCH', 'SPAM'],
      tunnels: [{ operator: 'P1', type: 'VPN' }],
    };
    assert.deepEqual(mergeRecord(stored, mergeRecord(a, b)), mergeRecord(mergeRecord(stored, a), b));
  });
});

forEachStore((target) => {
  let store: Store;
  let close: () => Promise<void>;
  const slotsDir = tempDir();
  // Slots are merged in order: each case takes the next one.
  let minute = 0;
  const apply = async (lines: (object | string)[], maxSkippedRatio?: number): Promise<SlotOutcome> => {
    minute += 5;
    const slot = `20260102/${String(Math.floor(minute / 60)).padStart(2, '0')}${String(minute % 60).padStart(2, '0')}`;
    const file = publishSlot(slotsDir, FEED, slot, lines);
    return applySlot(store, file, { feed: FEED, slot: parseSlotPath(slot)!, logger: quietLogger, maxSkippedRatio });
  };
  const stored = async (ip: string): Promise<unknown> => {
    const records = await store.lookup(parseIp(ip));
    return records.find((r) => r.feed === FEED)?.context;
  };
  const counts = (outcome: SlotOutcome) => {
    assert.equal(outcome.status, 'applied');
    const { inserted, updated, skipped } = outcome.run;
    return { created: inserted, merged: updated, skipped };
  };

  before(async () => {
    ({ store, close } = await freshStore(target));
    await importFeed(store, jsonLinesFeed(ADDRESSES.map(base)), { feed: FEED, feedDate: '2026-01-02', logger: quietLogger });
  });
  after(async () => close());

  test('a slot before any full file of its feed is not merged', async () => {
    const file = publishSlot(slotsDir, 'anonymous-ipv6', '20260102/0000', [{ network: '2001:db8::/64', risks: ['SPAM'] }]);
    const outcome = await applySlot(store, file, { feed: 'anonymous-ipv6', slot: parseSlotPath('20260102/0000')!, logger: quietLogger });
    assert.equal(outcome.status, 'no-full-file');
    assert.equal((await store.importRuns({ limit: 10 })).filter((run) => run.kind === 'realtime').length, 0);
  });

  test('a slot older than the full file (the file holds it) is not merged', async () => {
    const file = publishSlot(slotsDir, FEED, '20260101/2355', [{ ip: ADDRESSES[0], organization: 'Old' }]);
    const outcome = await applySlot(store, file, { feed: FEED, slot: parseSlotPath('20260101/2355')!, logger: quietLogger });
    assert.equal(outcome.status, 'before-full-file');
    assert.deepEqual(await stored(ADDRESSES[0]!), base(ADDRESSES[0]!));
  });

  test('a scalar in the update replaces the stored one', async () => {
    const ip = ADDRESSES[0]!;
    assert.deepEqual(counts(await apply([{ ip, organization: 'Org B', as: { number: 64501 } }])), { created: 0, merged: 1, skipped: 0 });
    assert.deepEqual(await stored(ip), { ...base(ip), organization: 'Org B', as: { number: 64501 } });
  });

  test('objects merge field by field: a nested scalar replaces only itself', async () => {
    const ip = ADDRESSES[1]!;
    await apply([{ ip, location: { city: 'Lyon' }, client: { count: 9 } }]);
    const expected = base(ip);
    expected.location = { city: 'Lyon', country: 'FR' };
    expected.client = { ...expected.client, count: 9 };
    assert.deepEqual(await stored(ip), expected);
  });

  test('an empty scalar ("", 0, absent) leaves the stored value: nothing is written', async () => {
    const ip = ADDRESSES[2]!;
    const before = await storedSnapshot(store);
    const outcome = await apply([{ ip, organization: '', infrastructure: '', client: { count: 0 }, location: { city: '' } }]);
    assert.deepEqual(counts(outcome), { created: 0, merged: 0, skipped: 0 });
    assert.equal(await storedSnapshot(store), before);
  });

  test('each list of labels becomes the union of both, and the labels are listed', async () => {
    const ip = ADDRESSES[3]!;
    await apply([
      {
        ip,
        risks: ['SPAM', 'TUNNEL'],
        services: ['WIREGUARD'],
        client: { types: ['MOBILE'], proxies: ['LUMINATI_PROXY'], behaviors: ['TOR_PROXY_USER'] },
      },
    ]);
    const expected = base(ip);
    expected.risks = ['TUNNEL', 'SPAM'];
    expected.services = ['OPENVPN', 'WIREGUARD'];
    expected.client = {
      count: 5,
      types: ['DESKTOP', 'MOBILE'],
      proxies: ['OXYLABS_PROXY', 'LUMINATI_PROXY'],
      behaviors: ['FILE_SHARING', 'TOR_PROXY_USER'],
    };
    assert.deepEqual(await stored(ip), expected);
    const listed = await store.list({ labels: [{ kind: 'proxy', value: 'LUMINATI_PROXY' }], limit: 10 });
    assert.deepEqual(
      listed.records.map((r) => r.key),
      [ip],
    );
  });

  test("tunnels gain the update's tunnels whose operator is not there yet; a known operator's tunnel is kept as stored", async () => {
    const ip = ADDRESSES[4]!;
    await apply([
      {
        ip,
        tunnels: [
          { operator: 'NORD_VPN', type: 'PROXY', anonymous: false },
          { operator: 'PROTON_VPN', type: 'VPN' },
        ],
      },
    ]);
    assert.deepEqual(await stored(ip), {
      ...base(ip),
      tunnels: [
        { operator: 'NORD_VPN', type: 'VPN', anonymous: true },
        { operator: 'PROTON_VPN', type: 'VPN' },
      ],
    });
    const listed = await store.list({ labels: [{ kind: 'operator', value: 'PROTON_VPN' }], limit: 10 });
    assert.deepEqual(
      listed.records.map((r) => r.key),
      [ip],
    );
  });

  test('an address the feed does not hold becomes a new record, without the empty values', async () => {
    const outcome = await apply([
      { ip: '198.51.100.77', risks: ['SPAM'], organization: '', client: { count: 0, proxies: ['IPIDEA_PROXY'] } },
    ]);
    assert.deepEqual(counts(outcome), { created: 1, merged: 0, skipped: 0 });
    assert.deepEqual(await stored('198.51.100.77'), { ip: '198.51.100.77', risks: ['SPAM'], client: { proxies: ['IPIDEA_PROXY'] } });
    const [full] = (await store.feedStatus()).filter((s) => s.feed === FEED);
    assert.equal(full!.lastRealtime!.records, ADDRESSES.length + 1);
  });

  test("a key's lines in one slot are merged in their order", async () => {
    const ip = ADDRESSES[5]!;
    const outcome = await apply([
      { ip, organization: 'First', risks: ['SPAM'] },
      { ip: '192.0.2.200', risks: ['TUNNEL'] },
      { ip, organization: 'Second', risks: ['GEO_MISMATCH'] },
    ]);
    assert.deepEqual(counts(outcome), { created: 1, merged: 1, skipped: 0 });
    assert.deepEqual(await stored(ip), { ...base(ip), organization: 'Second', risks: ['TUNNEL', 'SPAM', 'GEO_MISMATCH'] });
  });

  test('a bad line is skipped and counted; the rest of the slot is merged', async () => {
    const ip = ADDRESSES[6]!;
    const outcome = await apply([{ ip, organization: 'Kept' }, '{"ip": "192.0.2.', { ip: 'not an ip', risks: ['SPAM'] }], 1);
    assert.deepEqual(counts(outcome), { created: 0, merged: 1, skipped: 2 });
    assert.equal((await stored(ip)) && ((await stored(ip)) as SpurRecord).organization, 'Kept');
  });

  test('a slot past the skipped-line limit fails whole and is recorded as failed', async () => {
    const ip = ADDRESSES[7]!;
    const before = await storedSnapshot(store);
    await assert.rejects(apply([{ ip, organization: 'Never' }, 'not json']), /import failed, stored data unchanged: .*skipped/);
    assert.equal(await storedSnapshot(store), before);
    const [latest] = await store.importRuns({ limit: 1 });
    assert.equal(latest!.kind, 'realtime');
    assert.equal(latest!.status, 'failed');
  });

  test('re-applying a merged slot changes nothing, and so does its content under a later slot', async () => {
    const ip = ADDRESSES[8]!;
    const lines = [{ ip, risks: ['SPAM'], tunnels: [{ operator: 'PROTON_VPN' }], organization: 'Again' }];
    minute += 5;
    const slot = `20260102/${String(Math.floor(minute / 60)).padStart(2, '0')}${String(minute % 60).padStart(2, '0')}`;
    const file = publishSlot(slotsDir, FEED, slot, lines);
    const options = { feed: FEED, slot: parseSlotPath(slot)!, logger: quietLogger } as const;
    assert.equal((await applySlot(store, file, options)).status, 'applied');
    const before = await storedSnapshot(store);
    const runs = (await store.importRuns({ limit: 100 })).length;
    assert.equal((await applySlot(store, file, options)).status, 'applied-already');
    assert.equal((await store.importRuns({ limit: 100 })).length, runs, 'nothing recorded for a slot the store has');
    assert.deepEqual(counts(await apply(lines)), { created: 0, merged: 0, skipped: 0 });
    assert.equal(await storedSnapshot(store), before);
  });
});
