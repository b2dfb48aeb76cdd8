/*
 * The scale benchmark on one store, step by step: full load of day 1, store size, diff to
 * day 2, `ipoid serve` start-up and idle lookups, then `ipoid import` of day 1 again (the
 * same churn in reverse): its start-up, and lookups while it runs.
 */
import { drive, singleLookups, startServer, WARMUP_SECONDS, type Load, type Measured, type Server } from './api-load.ts';
import { dropDatabase, freshDatabase, settle } from './databases.ts';
import { measureImport, startCliImport, type MeasuredImport } from './imports.ts';
import { importDiskProbe, storeSize, type StoreSize } from './store-disk.ts';

const CONNECTIONS = 10;

export interface ScaleRun {
  url: string;
  day1: string;
  day2: string;
  /** Addresses to look up, some stored and some not. */
  addresses: string[];
  /** Seconds of each measured lookup phase. */
  seconds: number;
  /** Lookups a second of the phases at a fixed rate (the latency clients see at that traffic); undefined: none. */
  rate: number | undefined;
  /** MariaDB's datadir, when this machine can read it. */
  datadir: string | null;
  /** Leave the database in place afterwards (it is dropped otherwise: at 40M records it is tens of GB). */
  keep: boolean;
  /** The database already holds day 1 (kept by an earlier run): start at the diff. */
  loaded: boolean;
  /** Progress lines, as each step ends. */
  log: (line: string) => void;
}

export interface StoreResult {
  /** Null when the store was loaded by an earlier run. */
  full: MeasuredImport | null;
  size: StoreSize;
  diff: MeasuredImport;
  serveStartupSeconds: number;
  idle: Measured;
  importStartupSeconds: number;
  duringImport: UnderImport;
  /** How long the import under load took, from reading its feed to its end. */
  importUnderLoadSeconds: number;
  /** The same lookups at `ScaleRun.rate`, idle and (right after `duringImport`) while the import runs. */
  atRate: { idle: Measured; duringImport: UnderImport } | null;
  /** How the API's lookup index took in the import under load. */
  indexAfterImport: IndexChange;
}

/** A build or patch of the API's lookup index, as its log tells it. */
export interface IndexChange {
  patched: boolean;
  /** Whether the patch was folded into the index's base (lookup/fold.ts). */
  folded: boolean;
  /** How long the build or patch took. */
  seconds: number;
  /** A patch's keys: those written since the index's base (its whole build or last fold). */
  keys: number | null;
  /**
   * From the import's end (its log's `import finished`, once its commit returned) until the
   * index answered its data: the index may start on the data as soon as the commit is
   * visible, before the import's last work after it.
   */
  afterImportSeconds: number;
}

/** Lookups measured once an import had started: `overlapSeconds` of their `loadSeconds` ran while it did. */
export interface UnderImport {
  lookups: Measured;
  overlapSeconds: number;
  loadSeconds: number;
}

export async function benchStore(run: ScaleRun): Promise<StoreResult> {
  const { url, log } = run;
  if (!run.loaded) await freshDatabase(url);
  try {
    const full = run.loaded ? null : await measureImport(url, run.day1, importDiskProbe(url, run.datadir) ?? undefined);
    if (full) log(`full load ${full.seconds.toFixed(1)} s, peak RSS ${Math.round(full.peakRssMb)} MB`);
    const size = await storeSize(url, run.datadir);
    await settled(run);
    const diff = await measureImport(url, run.day2, importDiskProbe(url, run.datadir) ?? undefined);
    log(`diff ${diff.seconds.toFixed(1)} s (+${diff.inserted} ~${diff.updated} -${diff.deleted})`);
    await settled(run);
    return { full, size, diff, ...(await lookups(run)) };
  } finally {
    if (!run.keep) await dropDatabase(url);
  }
}

/** MariaDB writes a big import's pages out after its commit: the next import waits for that, not beside it. */
async function settled(run: ScaleRun): Promise<void> {
  const waited = await settle(run.url);
  if (waited >= 1) run.log(`waited ${waited.toFixed(0)} s for the server to write out the last import`);
}

async function lookups(run: ScaleRun) {
  const requests = singleLookups(run.addresses);
  const server = await startServer(run.url);
  try {
    run.log(`serve up in ${server.startupSeconds.toFixed(2)} s`);
    const load = { connections: CONNECTIONS, seconds: run.seconds, requests };
    const atRate = run.rate === undefined ? undefined : { ...load, rate: run.rate };
    const logged = (what: string, m: Measured, more = ''): Measured => {
      run.log(`${what} p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms${more}`);
      return m;
    };
    await drive(server.base, { ...load, seconds: WARMUP_SECONDS });
    const idle = logged('idle lookups', await drive(server.base, load));
    const idleAtRate = atRate && logged(`idle lookups at ${atRate.rate}/s`, await drive(server.base, atRate));

    const indexed = nextIndexChange(server);
    const importing = await startCliImport(run.url, run.day1);
    const timed = async (phase: Load) => {
      const from = performance.now();
      return { lookups: await drive(server.base, phase), from, to: performance.now() };
    };
    const saturated = await timed(load);
    const paced = atRate && (await timed(atRate));
    const importEnd = await importing.ended;
    const underImport = (what: string, { lookups, from, to }: Awaited<ReturnType<typeof timed>>): UnderImport => {
      const overlapSeconds = Math.max(0, Math.min(importEnd, to) - from) / 1000;
      const loadSeconds = (to - from) / 1000;
      logged(what, lookups, ` (overlap ${overlapSeconds.toFixed(1)} of ${loadSeconds.toFixed(1)} s)`);
      return { lookups, overlapSeconds, loadSeconds };
    };
    return {
      serveStartupSeconds: server.startupSeconds,
      idle,
      importStartupSeconds: importing.startupSeconds,
      duringImport: underImport('lookups during import', saturated),
      importUnderLoadSeconds: (importEnd - saturated.from) / 1000,
      atRate:
        idleAtRate && paced ? { idle: idleAtRate, duringImport: underImport(`lookups at ${atRate.rate}/s during import`, paced) } : null,
      indexAfterImport: await indexAfter(run, await importing.finished, indexed),
    };
  } finally {
    await server.stop();
  }
}

/** The next build or patch of the server's lookup index, with when its log line came. */
function nextIndexChange(server: Server): Promise<Omit<IndexChange, 'afterImportSeconds'> & { at: number }> {
  return new Promise((resolve) =>
    server.onLogLine((line) => {
      const made = /"lookup index (patched|built)"/.exec(line)?.[1];
      if (!made) return;
      const { seconds, keys, folded } = JSON.parse(line) as { seconds: number; keys?: number; folded?: boolean };
      resolve({ patched: made === 'patched', folded: folded === true, seconds, keys: keys ?? null, at: performance.now() });
    }),
  );
}

async function indexAfter(run: ScaleRun, ended: { at: number }, indexed: ReturnType<typeof nextIndexChange>): Promise<IndexChange> {
  const { at, ...change } = await indexed;
  const result = { ...change, afterImportSeconds: (at - ended.at) / 1000 };
  const how = result.patched ? `patched with ${result.keys} keys${result.folded ? ' and folded' : ''}` : 'built whole';
  run.log(
    `lookup index ${how} in ${result.seconds.toFixed(1)} s, answering the import ${result.afterImportSeconds.toFixed(1)} s after it ended`,
  );
  return result;
}
