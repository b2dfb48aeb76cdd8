/*
 * History benchmark (issue 11), on the SQLite store: `days` successive days of a generated
 * feed of `records` records at 5% churn, each imported by diff with its feed date. It reports
 * what the history costs on disk per day (ip_history and its index, from dbstat) against the
 * rest of the store; the diff's time with and without history on the same days (paired: the
 * store is copied, one copy imports with IPOID_HISTORY_DAYS=0, the other with history, in
 * alternating order); and `GET /feed/v1/ip/{ip}?at=` p50/p99 at 10 connections over the
 * whole window, beside today's lookups.
 *
 *   npm run bench:history -- --records 100000 --days 90 [--paired 6] [--seconds 10]
 *
 * Feeds are cached in bench/out/history-N/; the store is bench/out/history-N.db (replaced).
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { runGenerate } from '../src/generator/index.ts';
import { importFeed } from '../src/import/importer.ts';
import { createLogger } from '../src/log.ts';
import { openStore } from '../src/store/open.ts';
import { addDays, dateOfDay, feedDay } from '../src/history/feed-day.ts';
import { drive, singleLookups, startServer, WARMUP_SECONDS, type Measured } from './api-load.ts';
import { sampleAddresses } from './api-data.ts';
import { OUT } from './feeds.ts';
import { bytes, count, machine, markdownTable, seconds } from './report.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    days: { type: 'string', default: '90' },
    paired: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '10' },
  },
});
const records = Number(values.records);
const days = Number(values.days);
const pairedDays = Number(values.paired);
const loadSeconds = Number(values.seconds);
const CHURN = 0.05;
const FIRST_DAY = feedDay('2026-06-01');
const CONNECTIONS = 10;
const PROBES = 20_000;
const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const logger = createLogger('silent');

const dir = join(OUT, `history-${records}`);
mkdirSync(dir, { recursive: true });
const dayFile = (d: number) => join(dir, `day-${String(d).padStart(3, '0')}.jsonl.gz`);

/** Day d's feed (1-based), generated from day d-1 once and then reused. */
async function feedOf(d: number): Promise<string> {
  const file = dayFile(d);
  if (existsSync(file)) return file;
  const partial = file.replace('.jsonl.gz', '.partial.jsonl.gz');
  await runGenerate(
    d === 1 ? { count: records, seed: 42, out: partial } : { from: await feedOf(d - 1), churn: CHURN, seed: 1000 + d, out: partial },
  );
  renameSync(partial, file);
  return file;
}

/** Imports day d into the store file with `historyDays`; answers its seconds and counts. */
async function importDay(path: string, d: number, historyDays: number) {
  const store = await openStore(`sqlite:${path}`, { historyDays });
  try {
    const started = performance.now();
    const run = await importFeed(store, await feedOf(d), { feed: 'anonymous', feedDate: dateOfDay(addDays(FIRST_DAY, d - 1)), logger });
    return { seconds: (performance.now() - started) / 1000, changed: run.inserted + run.updated + run.deleted };
  } finally {
    await store.close();
  }
}

/** Bytes of the history's table and index, and of everything else, from dbstat. */
function storeBytes(path: string): { history: number; rest: number } {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare<[], { name: string; size: number }>('SELECT name, SUM(pgsize) AS size FROM dbstat GROUP BY name').all();
    const history = rows.filter((r) => r.name.startsWith('ip_history')).reduce((sum, r) => sum + r.size, 0);
    return { history, rest: rows.reduce((sum, r) => sum + r.size, 0) - history };
  } finally {
    db.close();
  }
}

const path = join(OUT, `history-${records}.db`);
for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
const copy = `${path}.without-history.db`;
const started = performance.now();
await importDay(path, 1, days);
log(`day 1 loaded (${count(records)} records)`);

// Spread over the run: early days (little history) and late ones (a full window).
const paired = new Set(Array.from({ length: pairedDays }, (_, i) => 2 + Math.round((i * (days - 2)) / Math.max(1, pairedDays - 1))));
const pairs: { day: number; with: number; without: number }[] = [];
let changed = 0;
for (let d = 2; d <= days; d++) {
  await feedOf(d);
  if (!paired.has(d)) {
    changed += (await importDay(path, d, days)).changed;
    continue;
  }
  copyFileSync(path, copy);
  const without = async () => (await importDay(copy, d, 0)).seconds;
  const withHistory = async () => {
    const run = await importDay(path, d, days);
    changed += run.changed;
    return run.seconds;
  };
  const pair =
    d % 2 === 0 ? { without: await without(), with: await withHistory() } : { with: await withHistory(), without: await without() };
  rmSync(copy, { force: true });
  pairs.push({ day: d, ...pair });
  log(`day ${d}: diff ${seconds(pair.with)} with history, ${seconds(pair.without)} without`);
}
const size = storeBytes(path);
log(
  `${days} days imported in ${seconds((performance.now() - started) / 1000)}; history ${bytes(size.history)}, the rest ${bytes(size.rest)}`,
);

// Lookups: addresses of the first and the last day's feeds, each asked on a random day of the window.
const sample = [
  ...(await sampleAddresses(dayFile(1), records, PROBES / 2, 1)),
  ...(await sampleAddresses(dayFile(days), records, PROBES / 2, 1)),
];
let seed = 1;
const randomDay = () => dateOfDay(addDays(FIRST_DAY, (seed = (seed * 48271) % 2147483647) % days));
const server = await startServer(`sqlite:${path}`);
let today: Measured;
let past: Measured;
try {
  const at = sample.map((ip) => ({ path: `/feed/v1/ip/${ip}?at=${randomDay()}` }));
  const now = singleLookups(sample);
  await drive(server.base, { connections: CONNECTIONS, seconds: WARMUP_SECONDS, requests: at });
  past = await drive(server.base, { connections: CONNECTIONS, seconds: loadSeconds, requests: at });
  today = await drive(server.base, { connections: CONNECTIONS, seconds: loadSeconds, requests: now });
} finally {
  await server.stop();
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const withMean = mean(pairs.map((p) => p.with));
const withoutMean = mean(pairs.map((p) => p.without));
const perDay = size.history / (days - 1);
console.log(
  markdownTable(
    [
      'records',
      'days',
      'changes a day',
      'history on disk',
      'per day',
      'per change',
      'against the rest of the store',
      `5% diff with / without history (${pairs.length} paired days)`,
      '?at p50 / p99 (10 conn.)',
      'today p50 / p99',
    ],
    [
      [
        count(records),
        String(days),
        count(changed / (days - 1)),
        bytes(size.history),
        bytes(perDay),
        `${Math.round(size.history / changed)} B`,
        `${(size.history / size.rest).toFixed(2)}× (${bytes(size.rest)})`,
        `${seconds(withMean)} / ${seconds(withoutMean)} (${(withMean / withoutMean).toFixed(2)}×)`,
        `${past.p50Ms} / ${past.p99Ms} ms (${count(past.requestsPerSecond)}/s, ${past.errors} errors)`,
        `${today.p50Ms} / ${today.p99Ms} ms`,
      ],
    ],
  ),
);
console.log(`\nPaired days: ${pairs.map((p) => `day ${p.day} ${p.with.toFixed(2)}/${p.without.toFixed(2)} s`).join(', ')}`);
console.log(machine('not used'));
