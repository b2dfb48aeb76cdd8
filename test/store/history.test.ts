import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { networkContains, parseIp, parseIpOrNetwork } from '../../src/feed/ip.ts';
import { runGenerate } from '../../src/generator/index.ts';
import { ImportRefusedError, importFeed } from '../../src/import/importer.ts';
import type { Store } from '../../src/store/types.ts';
import { SAME_DAY_PAGE } from '../../src/store/shared-sql.ts';
import { jsonLinesFeed, quietLogger, tempDir } from '../helpers/fixtures.ts';
import { openStore } from '../../src/store/open.ts';
import { expireStaleFeeds } from '../../src/update/expire.ts';
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

/** An independent diff of two days' files: "key added|removed|changed" in key order (address order, as the store sorts). */
function diffOf(from: Day, to: Day): string[] {
  const keys = [...new Set([...from.records.keys(), ...to.records.keys()])];
  const order = (key: string) => {
    const parsed = parseIpOrNetwork(key);
    return `${parsed.bytes.toString('hex')}/${String(parsed.prefixLen).padStart(3, '0')}`;
  };
  keys.sort((a, b) => (order(a) < order(b) ? -1 : 1));
  return keys.flatMap((key) => {
    const before = from.records.get(key);
    const after = to.records.get(key);
    if (!before) return [`${key} added`];
    if (!after) return [`${key} removed`];
    return isDeepStrictEqual(before, after) ? [] : [`${key} changed`];
  });
}

interface ChangeAnswer {
  ip: string;
  change: string;
  before: { risks: string[] } | null;
  after: { risks: string[] } | null;
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

    test('changes between two days equal an independent diff of the two files, page by page and streamed', async () => {
      const [, day2, , day4] = days as [Day, Day, Day, Day];
      const expected = diffOf(day2, day4);
      const walked: string[] = [];
      let next: string | null = `${base}/feed/v1/changes?since=${day2.date}&until=${day4.date}&limit=7`;
      while (next) {
        const page = await request(next);
        assert.equal(page.status, 200, page.text);
        const { changes, next: cursor } = page.json as { changes: ChangeAnswer[]; next: string | null };
        assert.ok(changes.length <= 7);
        for (const change of changes) {
          walked.push(`${change.ip} ${change.change}`);
          const before = day2.records.get(change.ip);
          const after = day4.records.get(change.ip);
          assert.deepEqual(change.before?.risks ?? null, before ? (before.risks ?? []) : null, change.ip);
          assert.deepEqual(change.after?.risks ?? null, after ? (after.risks ?? []) : null, change.ip);
        }
        next = cursor === null ? null : `${base}/feed/v1/changes?since=${day2.date}&until=${day4.date}&limit=7&cursor=${cursor}`;
      }
      assert.deepEqual(walked, expected);
      const ndjson = await request(`${base}/feed/v1/changes?since=${day2.date}&until=${day4.date}&format=ndjson`);
      assert.deepEqual(
        ndjson.text
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as ChangeAnswer)
          .map((c) => `${c.ip} ${c.change}`),
        expected,
      );
      const csv = await request(`${base}/feed/v1/changes?since=${day2.date}&until=${day4.date}`, { headers: { accept: 'text/csv' } });
      const rows = csv.text.trim().split('\r\n');
      assert.equal(rows[0], 'ip,feed,change,labels_before,labels_after');
      assert.equal(rows.length - 1, expected.length);
    });

    test('changes honour the label and prefix filters of the lists', async () => {
      const [day1, , , , day5] = days as [Day, Day, Day, Day, Day];
      const spam = (record: Record<string, unknown> | undefined) => ((record?.risks as string[] | undefined) ?? []).includes('SPAM');
      const expected = diffOf(day1, day5).filter((line) => {
        const key = line.split(' ')[0]!;
        return spam(day1.records.get(key)) || spam(day5.records.get(key));
      });
      const answer = await request(`${base}/feed/v1/changes?since=${day1.date}&risk=SPAM&format=ndjson`);
      const listed = answer.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as ChangeAnswer);
      assert.deepEqual(
        listed.map((c) => `${c.ip} ${c.change}`),
        expected,
      );
      const inPrefix = await request(`${base}/feed/v1/changes?since=${day1.date}&prefix=198.51.100.0/24`);
      assert.deepEqual(
        (inPrefix.json as { changes: ChangeAnswer[] }).changes.map((c) => [c.ip, c.change, c.before?.risks, c.after?.risks]),
        [[TRACKED, 'changed', ['TUNNEL'], ['SPAM']]],
      );
      assertError(await request(`${base}/feed/v1/changes?since=2026-10-01`), 400, /outside the kept window/);
      assertError(await request(`${base}/feed/v1/changes?since=${day5.date}&until=${day1.date}`), 400, /until/);
    });

    test('label counts since a day: then, now, and what came and went, as the files count them', async () => {
      const [, day2, , , day5] = days as [Day, Day, Day, Day, Day];
      const risksOf = (day: Day, key: string): string[] => (day.records.get(key)?.risks as string[] | undefined) ?? [];
      const keys = new Set([...day2.records.keys(), ...day5.records.keys()]);
      const expected = new Map<string, { count: number; then: number; added: number; removed: number }>();
      const entry = (risk: string) => expected.get(risk) ?? expected.set(risk, { count: 0, then: 0, added: 0, removed: 0 }).get(risk)!;
      for (const key of keys) {
        const then = risksOf(day2, key);
        const now = risksOf(day5, key);
        for (const risk of then) entry(risk).then++;
        for (const risk of now) entry(risk).count++;
        for (const risk of now) if (!then.includes(risk)) entry(risk).added++;
        for (const risk of then) if (!now.includes(risk)) entry(risk).removed++;
      }
      const answer = await request(`${base}/feed/v1/labels?since=${day2.date}`);
      assert.equal(answer.status, 200, answer.text);
      const risks = (answer.json as { risk: ({ value: string } & Record<string, number>)[] }).risk;
      assert.deepEqual(new Map(risks.map(({ value, ...counts }) => [value, counts])), expected);
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

  test('a feed loaded after others, or again after its data expired: its keys are added that day', async () => {
    const { store, close } = await freshStore(target);
    const { app, base } = await serve(store);
    const load = (feed: 'anonymous' | 'anonymous-residential', records: object[], feedDate: string) =>
      importFeed(store, jsonLinesFeed(records), { feed, feedDate, logger: quietLogger, force: true });
    try {
      await load('anonymous', [{ ip: '192.0.2.1', risks: ['TUNNEL'] }], '2026-11-01');
      await load('anonymous-residential', [{ ip: '198.51.100.9', risks: ['SPAM'] }], '2026-11-02');
      const changes = async (query: string) =>
        ((await request(`${base}/feed/v1/changes?${query}`)).json as { changes: ChangeAnswer[] }).changes.map((c) => `${c.ip} ${c.change}`);
      assert.deepEqual(await changes('since=2026-11-01'), ['198.51.100.9 added']);
      const risks = ((await request(`${base}/feed/v1/labels?since=2026-11-01`)).json as { risk: { value: string }[] }).risk;
      assert.deepEqual(
        risks.find((l) => l.value === 'SPAM'),
        { value: 'SPAM', count: 1, then: 0, added: 1, removed: 0 },
      );
      // The residential feed expires on the 10th, and is loaded again on the 15th.
      await expireStaleFeeds(store, 3, quietLogger, new Date('2026-11-10T12:00:00Z'));
      await load('anonymous', [{ ip: '192.0.2.1', risks: ['TUNNEL'] }], '2026-11-12');
      await load('anonymous-residential', [{ ip: '198.51.100.9', risks: ['SPAM'] }], '2026-11-15');
      assert.deepEqual(await changes('since=2026-11-02&until=2026-11-12'), ['198.51.100.9 removed']);
      assert.deepEqual(await changes('since=2026-11-12'), ['198.51.100.9 added']);
      assert.equal((await request(`${base}/feed/v1/ip/198.51.100.9?at=2026-11-13`)).status, 404);
      const history = (await request(`${base}/feed/v1/ip/198.51.100.9/history`)).json as {
        records: { versions: { first: string; last: string }[] }[];
      };
      assert.deepEqual(
        history.records[0]!.versions.map((v) => [v.first, v.last]),
        [
          ['2026-11-02', '2026-11-02'],
          ['2026-11-15', '2026-11-15'],
        ],
      );
    } finally {
      await app.close();
      await close();
    }
  });

  test('days before history was kept (IPOID_HISTORY_DAYS=0, or before the upgrade) are outside the window', async () => {
    const days = await writeDays();
    const db = await target.createDatabase();
    const importWith = async (historyDays: number, day: Day) => {
      const store = await openStore(db.url, { historyDays });
      try {
        await importDay(store, day);
      } finally {
        await store.close();
      }
    };
    try {
      await importWith(0, days[0]!);
      await importWith(0, days[1]!);
      await importWith(90, days[2]!);
      const store = await openStore(db.url, { historyDays: 90 });
      const { app, base } = await serve(store);
      try {
        assertError(await request(`${base}/feed/v1/ip/${TRACKED}?at=2026-11-01`), 400, /kept from 2026-11-02 to 2026-11-03/);
        await assertEveryDay(base, days.slice(0, 3), days.slice(1, 3));
      } finally {
        await app.close();
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });

  test("a file older than the feed's newest day is filed under the newest: the days before stay as they were", async () => {
    const days = await writeDays();
    const { store, close } = await freshStore(target);
    const { app, base } = await serve(store);
    try {
      for (const day of days.slice(0, 2)) await importDay(store, day);
      // Day 3's file, dated a day before the newest import: history cannot go back.
      const run = await importDay(store, days[2]!, days[0]!.date);
      assert.equal(run.dataDate, days[0]!.date, 'the run says what it was given');
      const [filed] = await store.importRuns({ limit: 1 });
      assert.equal(filed?.dataDate, days[1]!.date, 'the store filed it under the newest day');
      await assertEveryDay(base, days.slice(0, 3), [days[0]!, { ...days[2]!, date: days[1]!.date }]);
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

  test('a second import on the same feed day re-takes more states than one page of them holds', async () => {
    const dir = tempDir();
    // Every record changes at each import, so every key of the second import has a state filed that day.
    const days = [0, 1, 2].map((i): Day => {
      const records = new Map(
        Array.from({ length: SAME_DAY_PAGE + 200 }, (_, k) => {
          const ip = `10.0.${k >> 8}.${k & 255}`;
          // The third day differs from the first in more places than the second does: a kept state must be re-taken.
          return [ip, { ip, organization: i === 2 ? `Org ${k}, renamed` : `Org ${k}`, client: { count: i + 1 } }];
        }),
      );
      const file = join(dir, `day-${i}.jsonl`);
      writeFileSync(file, [...records.values()].map((record) => `${JSON.stringify(record)}\n`).join(''));
      return { date: DAYS[Math.min(i, 1)]!, file, records };
    });
    const { store, close } = await freshStore(target);
    const { app, base } = await serve(store);
    try {
      for (const day of days) await importDay(store, day);
      // The first day is rebuilt from today's records through the re-taken states.
      await assertEveryDay(base, days, [days[0]!, days[2]!]);
    } finally {
      await app.close();
      await close();
    }
  });
});
