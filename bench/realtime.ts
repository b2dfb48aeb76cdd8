/*
 * Realtime benchmark (issue 12). For each store, a generated day of `records` records is the
 * full file of `anonymous-residential` (loaded once, then reused: a store that merged slots
 * in an earlier run is loaded again), and the generator's realtime slots of
 * that day are served by the fake Spur server. It reports:
 *   - catch-up: `ipoid update --realtime` merging the whole day's slots, each slot's merge
 *     time (from the follower's log) and the whole catch-up, with `GET /feed/v1/ip/{ip}` at
 *     10 connections driven against `ipoid serve` meanwhile, beside the same load idle;
 *   - freshness: `ipoid follow` with its default poll interval, and slots published one at a
 *     time; from each publication to the API answering the slot's data.
 *
 *   npm run bench:realtime -- --records 10000000 --stores sqlite,mariadb [--slots 288] [--per-slot 10000] [--trials 3]
 *
 * Feeds and slots are cached in bench/out/; MariaDB is IPOID_BENCH_MARIADB_URL (databases.ts).
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { runRealtime } from '../src/generator/index.ts';
import { importFeed } from '../src/import/importer.ts';
import { createLogger } from '../src/log.ts';
import { nextSlot, slotPath } from '../src/realtime/slot.ts';
import { readRawLines } from '../src/feed/reader.ts';
import { realtimeSinceFull } from '../src/store/feed-status.ts';
import { openStore } from '../src/store/open.ts';
import { drive, singleLookups, startServer, WARMUP_SECONDS, type Measured } from './api-load.ts';
import { HIT_RATIO, sampleAddresses } from './api-data.ts';
import { benchDatabaseUrl, freshDatabase, mariadbServer } from './databases.ts';
import { benchFeed, OUT } from './feeds.ts';
import { spawnIpoid } from './ipoid-process.ts';
import { peakRssMb, pollPeak } from './measure.ts';
import { count, machine, markdownTable, seconds } from './report.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    stores: { type: 'string', default: 'sqlite' },
    slots: { type: 'string', default: '288' },
    'per-slot': { type: 'string', default: '10000' },
    trials: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '20' },
  },
});
const records = Number(values.records);
const slots = Number(values.slots);
const perSlot = Number(values['per-slot']);
const trials = Number(values.trials);
const loadSeconds = Number(values.seconds);
const FEED = 'anonymous-residential';
const FEED_DATE = '2026-06-01';
const DAY = FEED_DATE.replaceAll('-', '');
const TOKEN = 'bench-token';
const CONNECTIONS = 10;
const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** The day's slots and, rolled into the next day, those the freshness trials publish: generated once. */
async function generatedSlots(dayFile: string): Promise<string> {
  const dir = join(OUT, `realtime-${records}-${slots}x${perSlot}`);
  if (existsSync(join(dir, 'done'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  const started = performance.now();
  await runRealtime({ from: dayFile, out: dir, slots: slots + trials, recordsPerSlot: perSlot, seed: 7, date: FEED_DATE });
  writeFileSync(join(dir, 'done'), '');
  log(`slots generated in ${seconds((performance.now() - started) / 1000)}`);
  return dir;
}

/** What the fake Spur server serves: the day file, the day's slots, and a directory the trials publish into. */
function spurDir(dayFile: string, slotsDir: string): { dir: string; publishDir: string } {
  const dir = join(OUT, `realtime-spur-${records}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, FEED, DAY), { recursive: true });
  symlinkSync(dayFile, join(dir, FEED, DAY, 'feed.json.gz'));
  // The day's slots only: the trials publish theirs one at a time.
  let slot = new Date(`${FEED_DATE}T00:00:00Z`);
  for (let i = 0; i < slots; i++, slot = nextSlot(slot)) {
    const file = `${slotPath(slot)}.json.gz`;
    mkdirSync(join(dir, FEED, 'realtime', file.slice(0, 8)), { recursive: true });
    symlinkSync(join(slotsDir, file), join(dir, FEED, 'realtime', file));
  }
  return { dir, publishDir: join(dir, FEED, 'realtime') };
}

/**
 * The store holds the day file as its full file and no slot since: loaded once, and loaded
 * again into a new database after a run merged slots. (Diffing it back instead would file every
 * key the slots changed under the day the next run's slots are filed under too, and each slot
 * would then re-take the day's state of nearly all its keys, which a real day does not.)
 */
async function resetStore(url: string, dayFile: string): Promise<void> {
  let store = await openStore(url);
  try {
    const status = (await store.feedStatus()).find((s) => s.feed === FEED)!;
    if (status.lastImport?.feedDate === FEED_DATE && !realtimeSinceFull(status)) return;
    if (status.lastImport) {
      await store.close();
      store = await openStore(await freshDatabase(url));
    }
    log('loading the day file');
    await importFeed(store, dayFile, { feed: FEED, feedDate: FEED_DATE, logger: createLogger('warn'), progress: true });
  } finally {
    await store.close();
  }
}

interface StoreFigures {
  store: string;
  slotMs: number[];
  catchUpSeconds: number;
  followerRssMb: number;
  idle: Measured;
  during: Measured;
  freshnessSeconds: number[];
  /** The API's lookup index, made new after each slot: patched (the slots' records read; folded into its base or not) or built whole, seconds each. */
  index: { patched: number[]; built: number[]; folded: number };
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function benchStore(store: string, dayFile: string, slotsDir: string): Promise<StoreFigures> {
  const url = benchDatabaseUrl(store, `realtime_${records}`);
  await resetStore(url, dayFile);
  const { dir, publishDir } = spurDir(dayFile, slotsDir);
  const port = await freePort();
  const spur = spawnIpoid(['fake-spur', '--dir', dir, '--port', String(port), '--token', TOKEN], {});
  const spurUrl = `http://127.0.0.1:${port}`;
  while (!(await fetch(`${spurUrl}/v2/${FEED}/latest`).catch(() => null))) await delay(100);
  const env = { IPOID_DB_URL: url, SPUR_FEED_BASE_URL: spurUrl, SPUR_API_TOKEN: TOKEN, IPOID_LOG_LEVEL: 'info' };
  const server = await startServer(url);
  const index = { patched: [] as number[], built: [] as number[], folded: 0 };
  server.onLogLine((line) => {
    const made = /"lookup index (patched|built)"/.exec(line)?.[1] as 'patched' | 'built' | undefined;
    if (!made) return;
    const { seconds, folded } = JSON.parse(line) as { seconds: number; folded?: boolean };
    index[made].push(seconds);
    if (folded) index.folded++;
  });
  try {
    const addresses = await sampleAddresses(dayFile, records, 20_000, HIT_RATIO);
    await drive(server.base, { connections: CONNECTIONS, seconds: WARMUP_SECONDS, requests: singleLookups(addresses) });
    const idle = await drive(server.base, { connections: CONNECTIONS, seconds: loadSeconds, requests: singleLookups(addresses) });
    log(`${store}: API idle p50/p99 ${idle.p50Ms}/${idle.p99Ms} ms`);

    // Catch-up: the whole day's slots, with the API under load for the first loadSeconds.
    const catchUp = spawnIpoid(['update', '--realtime', '--feed', FEED], env);
    const slotMs: number[] = [];
    catchUp.onStderrLine((line) => {
      if (line.includes('realtime slot merged')) slotMs.push((JSON.parse(line) as { ms: number }).ms);
    });
    const rss = pollPeak(() => peakRssMb(catchUp.process.pid!) ?? 0, 500);
    const during = await drive(server.base, { connections: CONNECTIONS, seconds: loadSeconds, requests: singleLookups(addresses) });
    await catchUp.exited;
    const catchUpSeconds = (performance.now() - catchUp.spawnedAt) / 1000;
    const followerRssMb = rss.stop();
    log(`${store}: ${slotMs.length} slots merged in ${seconds(catchUpSeconds)}; API during p50/p99 ${during.p50Ms}/${during.p99Ms} ms`);

    // Freshness: the follower at its default poll interval; each slot published just after a pass (the worst case).
    const follower = spawnIpoid(['follow', '--feed', FEED], { ...env, IPOID_REALTIME_POLL_SECONDS: '' });
    await follower.stderrMatch(/following feeds/);
    await delay(5000); // its first pass (nothing to merge) is done
    const freshnessSeconds: number[] = [];
    let slot = new Date(`${FEED_DATE}T00:00:00Z`);
    for (let i = 0; i < slots; i++) slot = nextSlot(slot);
    try {
      for (let trial = 0; trial < trials; trial++, slot = nextSlot(slot)) {
        const file = `${slotPath(slot)}.json.gz`;
        const probe = await firstAddress(join(slotsDir, file));
        const before = await answer(server.base, probe);
        mkdirSync(join(publishDir, file.slice(0, 8)), { recursive: true });
        copyFileSync(join(slotsDir, file), join(publishDir, `${file}.tmp`));
        renameSync(join(publishDir, `${file}.tmp`), join(publishDir, file));
        const published = performance.now();
        while ((await answer(server.base, probe)) === before) await delay(100);
        freshnessSeconds.push((performance.now() - published) / 1000);
        log(`${store}: slot ${slotPath(slot)} answered ${seconds(freshnessSeconds.at(-1)!)} after its publication`);
      }
    } finally {
      follower.process.kill('SIGTERM');
      await follower.exited.catch(() => undefined);
    }
    return { store, slotMs: slotMs.sort((a, b) => a - b), catchUpSeconds, followerRssMb, idle, during, freshnessSeconds, index };
  } finally {
    await server.stop();
    spur.process.kill('SIGTERM');
    await spur.exited.catch(() => undefined);
  }
}

/** A port nothing listens on, for the fake server's process. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The first address of a slot file: the trial asks the API for it. */
async function firstAddress(file: string): Promise<string> {
  for await (const raw of readRawLines(file)) {
    if ('bytes' in raw) return (JSON.parse(raw.bytes.toString()) as { ip?: string; network?: string }).ip ?? '';
  }
  throw new Error(`${file} is empty`);
}

const answer = async (base: string, ip: string): Promise<string> => {
  const res = await fetch(`${base}/feed/v1/ip/${ip}`);
  return `${res.status} ${await res.text()}`;
};

const { file: dayFile } = await benchFeed(records);
const slotsDir = await generatedSlots(dayFile);
const figures: StoreFigures[] = [];
for (const store of values.stores.split(',')) figures.push(await benchStore(store, dayFile, slotsDir));

const ms = (n: number) => `${Math.round(n)} ms`;
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return quantile(sorted, 0.5);
};
/** How many times, and their median in seconds when there are any. */
const countAndMedian = (times: number[]) => (times.length ? `${times.length} (${seconds(median(times))})` : '0');
console.log(
  `\n## Realtime: ${count(records)} records, ${slots} slots of ${count(perSlot)} (${machine(
    values.stores.includes('mariadb') ? await mariadbServer() : 'not used',
  )})\n`,
);
console.log(
  markdownTable(
    [
      'store',
      'slot merge min / median / p99 / max',
      `catch-up of ${slots} slots`,
      'follower peak RSS',
      `API p50/p99 idle → during (${CONNECTIONS} conn.)`,
      'publication → API answer',
      'lookup index: patches (folded) / whole builds (median s)',
    ],
    figures.map((f) => [
      f.store,
      [f.slotMs[0] ?? 0, quantile(f.slotMs, 0.5), quantile(f.slotMs, 0.99), f.slotMs.at(-1) ?? 0].map(ms).join(' / '),
      seconds(f.catchUpSeconds),
      `${Math.round(f.followerRssMb)} MB`,
      `${f.idle.p50Ms}/${f.idle.p99Ms} → ${f.during.p50Ms}/${f.during.p99Ms} ms${f.during.errors ? ` (${f.during.errors} errors)` : ''}`,
      f.freshnessSeconds.map(seconds).join(', '),
      `${countAndMedian(f.index.patched)} (${f.index.folded} folded) / ${countAndMedian(f.index.built)}`,
    ]),
  ),
);
