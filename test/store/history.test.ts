import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { networkContains, parseIp, parseIpOrNetwork } from '../../src/feed/ip.ts';
import { runGenerate } from '../../src/generator/index.ts';
import { ImportRefusedError, importFeed } from '../../src/import/importer.ts';
import type { Store } from '../../src/store/types.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { assertError, request, serve } from '../helpers/http.ts';
import { forEachStore, freshStore, serverConnection, type StoreTarget } from '../helpers/stores.ts';

/*
 * History (issue 11), on both stores: five imported days of a generated feed with 30% churn
 * a day, plus one tracked address whose labels change; every address is asked for every day
 * (`?at`, `?dt`) and its answer compared with that day's file, read independently.
 */

const DAYS = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05'];
const TRACKED = '198.51.100.77';
// The tracked address per day: its risks and client count; null: not in that day's feed.
const TRACKED_DAYS: ([risks: string[], count: number] | null)[] = [
  [['TUNNEL'], 1],
  null,
  [['TUNNEL', 'SPAM'], 2],
  [['SPAM'], 3],
  [['SPAM'], 4],
];

interface Day {
  date: string;
  file: string;
  /** The day's records by key ("addr" or "addr/len"), as parsed from its file. */
  records: Map<string, Record<string, unknown>>;
}

/** Five days' feed files: the generator's days, each with the tracked line added. */
async function writeDays(): Promise<Day[]> {
  const dir = tempDir();
  const days: Day[] = [];
  let previous: string | undefined;
  for (const [i, date] of DAYS.entries()) {
    const generated = join(dir, `generated-${i}.jsonl`);
    await runGenerate(previous ? { from: previous, churn: 0.3, seed: 10 + i, out: generated } : { count: 300, seed: 7, out: generated });
    previous = generated;
    const lines = readFileSync(generated, 'utf8').split('\n').filter(Boolean);
    const tracked = TRACKED_DAYS[i];
    if (tracked) lines.push(JSON.stringify({ ip: TRACKED, organization: 'Tracked VPN', risks: tracked[0], client: { count: tracked[1] } }));
    const file = join(dir, `day-${i}.jsonl`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const records = new Map(
      lines.map((line) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        return [(record.ip ?? record.network) as string, record];
      }),
    );
    days.push({ date, file, records });
  }
  return days;
}

/** What an address answered on a day, from the day's file alone: its own record, else the longest stored network holding it. */
function expectedOn(day: Day, address: string): Record<string, unknown> | undefined {
  const own = day.records.get(address);
  if (own) return own;
  const bytes = parseIp(address).bytes;
  let best: { prefixLen: number; record: Record<string, unknown> } | undefined;
  for (const [key, record] of day.records) {
    if (!key.includes('/')) continue;
    const network = parseIpOrNetwork(key);
    if (networkContains(network.bytes, network.prefixLen, bytes) && (!best || network.prefixLen > best.prefixLen))
      best = { prefixLen: network.prefixLen, record };
  }
  return best?.record;
}

/** Each key's first address: what a client asks about. */
const askedAddress = (key: string): string => parseIpOrNetwork(key).text.split('/')[0]!;

const importDay = (store: Store, day: Day, feedDate = day.date, options: { maxChangeRatio?: number } = {}) =>
  importFeed(store, day.file, { feed: 'anonymous', feedDate, logger: quietLogger, maxChangeRatio: options.maxChangeRatio ?? 1 });

/** The feed days ip_history holds states for, read from the table itself. */
async function filedDays(target: StoreTarget, url: string): Promise<number[]> {
  const sql = 'SELECT DISTINCT ended_on AS day FROM ip_history ORDER BY ended_on';
  if (target.name === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      return db
        .prepare<[], { day: number }>(sql)
        .all()
        .map((row) => row.day);
    } finally {
      db.close();
    }
  }
  const conn = await serverConnection(url);
  try {
    const rows = await conn.query<{ day: number }[]>(sql.replace('ip_history', `\`${new URL(url).pathname.slice(1)}\`.ip_history`));
    return rows.map((row) => Number(row.day));
  } finally {
    await conn.end();
  }
}

/** Every address of every day asked for every day: `?dt` answers that day's record, `?at` its status, both name the day. */
async function assertEveryDay(base: string, days: Day[], asked: Day[] = days): Promise<void> {
  const addresses = new Set(days.flatMap((day) => [...day.records.keys()].map(askedAddress)));
  for (const day of asked) {
    for (const address of addresses) {
      const expected = expectedOn(day, address);
      const dt = await request(`${base}/v2/context/${address}?dt=${day.date.replaceAll('-', '')}`);
      const at = await request(`${base}/feed/v1/ip/${address}?at=${day.date}`);
      const what = `${address} on ${day.date}`;
      if (expected === undefined) {
        assert.equal(dt.status, 404, what);
        assert.equal(at.status, 404, what);
        continue;
      }
      assert.equal(dt.status, 200, what);
      assert.deepEqual(dt.json, expected, what);
      assert.equal(dt.headers.get('x-result-dt'), day.date.replaceAll('-', ''), what);
      assert.equal(at.status, 200, what);
      assert.equal(at.headers.get('x-ipoid-feed-date'), day.date, what);
    }
  }
}

forEachStore((target) => {
  describe('history over five imported days', () => {
    let days: Day[];
    let store: Store;
    let url: string;
    let close: () => Promise<void>;
    let base: string;
    let app: Awaited<ReturnType<typeof serve>>['app'];

    before(async () => {
      days = await writeDays();
      ({ store, url, close } = await freshStore(target));
      for (const day of days) await importDay(store, day);
      ({ app, base } = await serve(store));
    });
    after(async () => {
      await app?.close();
      await close?.();
    });

    test("every address answers each day as that day's file has it (?at, ?dt)", async () => {
      await assertEveryDay(base, days);
    });

    test('a day after the newest import answers the newest data and names its day', async () => {
      const answer = await request(`${base}/v2/context/${TRACKED}?dt=20261120`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('x-result-dt'), '20261105');
      assert.deepEqual((answer.json as { client: unknown }).client, { count: 4 });
    });

    test('a day outside the kept window is a 400 that names the window', async () => {
      assertError(await request(`${base}/feed/v1/ip/${TRACKED}?at=2026-10-31`), 400, /2026-11-01 to 2026-11-05/);
      assertError(await request(`${base}/v2/context/${TRACKED}?dt=29990101`), 400, /future/);
      assertError(await request(`${base}/feed/v1/ip/${TRACKED}?at=2026-02-30`), 400, /YYYY-MM-DD/);
    });

    test("history shows each record with its first and last feed date, and each label's first and last seen", async () => {
      const answer = await request(`${base}/feed/v1/ip/${TRACKED}/history`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('x-ipoid-feed-date'), '2026-11-05');
      const { window, records } = answer.json as {
        window: unknown;
        records: {
          key: string;
          feed: string;
          versions: { first: string; last: string; record: { client: unknown } }[];
          labels: unknown[];
        }[];
      };
      assert.deepEqual(window, { from: '2026-11-01', to: '2026-11-05' });
      assert.equal(records.length, 1);
      const [{ key, feed, versions, labels }] = records as [(typeof records)[0]];
      assert.equal(key, TRACKED);
      assert.equal(feed, 'anonymous');
      assert.deepEqual(
        versions.map((v) => [v.first, v.last, v.record.client]),
        [
          ['2026-11-01', '2026-11-01', { count: 1 }],
          ['2026-11-03', '2026-11-03', { count: 2 }],
          ['2026-11-04', '2026-11-04', { count: 3 }],
          ['2026-11-05', '2026-11-05', { count: 4 }],
        ],
      );
      assert.deepEqual(
        new Set(labels),
        new Set([
          { kind: 'risk', value: 'TUNNEL', first_seen: '2026-11-01', last_seen: '2026-11-03' },
          { kind: 'risk', value: 'SPAM', first_seen: '2026-11-03', last_seen: '2026-11-05' },
        ]),
      );
      assertError(await request(`${base}/feed/v1/ip/192.0.2.250/history`), 404);
    });

    test('a refused import leaves the history untouched', async () => {
      const before = await filedDays(target, url);
      await assert.rejects(importDay(store, days[0]!, '2026-11-06', { maxChangeRatio: 0.01 }), ImportRefusedError);
      assert.deepEqual(await filedDays(target, url), before);
      await assertEveryDay(base, days, days.slice(3));
    });
  });

  test('pruning keeps exactly the window: IPOID_HISTORY_DAYS=3 after five days', async () => {
    const days = await writeDays();
    const { store, url, close } = await freshStore(target, { historyDays: 3 });
    const { app, base } = await serve(store);
    try {
      for (const day of days) await importDay(store, day);
      // The window's first day (11-03) needs only states that ended after it.
      assert.deepEqual(await filedDays(target, url), [20261104, 20261105]);
      await assertEveryDay(base, days, days.slice(2));
      assertError(await request(`${base}/feed/v1/ip/${TRACKED}?at=2026-11-02`), 400, /2026-11-03 to 2026-11-05/);
    } finally {
      await app.close();
      await close();
    }
  });

  test('a second import on the same feed day: that day answers the later one, the days before stay', async () => {
    const days = await writeDays();
    const { store, close } = await freshStore(target);
    const { app, base } = await serve(store);
    try {
      for (const day of days.slice(0, 3)) await importDay(store, day);
      // Day 4's file, imported as a second file of day 3.
      await importDay(store, days[3]!, days[2]!.date);
      const asDay3 = { ...days[3]!, date: days[2]!.date };
      await assertEveryDay(base, [...days.slice(0, 3), asDay3], [days[0]!, days[1]!, asDay3]);
    } finally {
      await app.close();
      await close();
    }
  });
});
