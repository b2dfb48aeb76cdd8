/*
 * Scale benchmark: how IPoid's figures grow with the feed, on each store. For a generated feed
 * of N records (and its next day, 5% churn): generator rate, full load and next-day diff
 * (time, µs per record, the importer's peak RSS and peak disk), the store's size against the
 * feed's, start-up of `ipoid import` and `ipoid serve` on the loaded store, and lookup latency
 * at 10 connections, idle and while an import runs: with each connection asking again as soon
 * as it is answered (the server's most), then at a fixed rate (--rate, 2,000 a second unless
 * the driver is wrk; 0 for none): the latency clients see at that traffic, which the saturated
 * phases cannot tell apart from the throughput an import takes from the server.
 *
 *   npm run bench:scale -- --records 1000000 [--stores sqlite,mariadb] [--seconds 10] [--rate 2000] [--keep] [--loaded]
 *
 * Feeds are cached in bench/out/. The database (bench/out/scale_N.db, or MariaDB's
 * <IPOID_BENCH_MARIADB_URL database>_scale_N) is created afresh and dropped at the end unless --keep.
 * --loaded starts at the diff, on a database an earlier --keep run left holding day 1 (at 40M
 * records a load takes an hour).
 */
import { parseArgs } from 'node:util';
import { HIT_RATIO, SAMPLE_SIZE, sampleAddresses } from './api-data.ts';
import { benchDriver } from './api-load.ts';
import { benchDatabaseUrl, mariadbServer } from './databases.ts';
import { benchFeed, benchNextDayFeed, uncompressedBytes, type BenchFeed } from './feeds.ts';
import { bytes, count, machine, markdownTable, seconds } from './report.ts';
import { benchStore, type IndexChange, type StoreResult, type UnderImport } from './scale-store.ts';
import { reachableDatadir } from './store-disk.ts';

// A busy API's traffic: about a tenth of the lookups one server answers at most on this 2-core machine.
const DEFAULT_RATE = 2000;

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    stores: { type: 'string', default: 'sqlite,mariadb' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string' },
    keep: { type: 'boolean', default: false },
    loaded: { type: 'boolean', default: false },
  },
});
const records = Number(values.records);
// wrk offers no fixed rate: with it the phases at one are left out unless asked for (and then refused here, not after the load).
const rate = values.rate === undefined ? (benchDriver() === 'wrk' ? undefined : DEFAULT_RATE) : Number(values.rate) || undefined;
if (rate !== undefined && benchDriver() === 'wrk') throw new Error('--rate needs IPOID_BENCH_DRIVER=autocannon: wrk offers no fixed rate');
const stores = values.stores.split(',');
const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

const day1 = await benchFeed(records);
const day2 = await benchNextDayFeed(records);
const generator = (feed: BenchFeed) => (feed.generatedSeconds === null ? 'cached' : `${count(records / feed.generatedSeconds)}/s`);
log(`feeds: day 1 ${generator(day1)}, day 2 ${generator(day2)}`);
const feedBytes = await uncompressedBytes(day1.file);
const addresses = await sampleAddresses(day1.file, records, SAMPLE_SIZE, HIT_RATIO);
const mariadb = await mariadbServer().catch((err: unknown) => (err as Error).message);
const datadir = reachableDatadir(typeof mariadb === 'string' ? null : mariadb.datadir);

const rows: string[][] = [];
for (const store of stores) {
  const result = await benchStore({
    url: benchDatabaseUrl(store, `scale_${records}`),
    day1: day1.file,
    day2: day2.file,
    addresses,
    seconds: Number(values.seconds),
    rate,
    datadir,
    keep: values.keep,
    loaded: values.loaded,
    log: (line) => log(`${store}: ${line}`),
  });
  rows.push(row(store, result));
}

console.log(`\n${machine(mariadb)}`);
console.log(
  `${count(records)} records (feed ${bytes(feedBytes)} uncompressed); ` +
    `lookups: ${count(SAMPLE_SIZE)} addresses (${HIT_RATIO * 100}% stored) at 10 connections, ${values.seconds} s a phase; ` +
    `peak disk: SQLite its files and the importer's temporary files, MariaDB the growth of its whole datadir ` +
    `(${datadir ? 'other databases count too' : 'not reachable here: not measured'})\n`,
);
console.log(
  markdownTable(
    [
      'store',
      'records',
      'generator day 1 / day 2',
      'full load',
      'load µs/record',
      'load peak RSS',
      'load peak disk',
      'next-day diff',
      'diff µs/record',
      'diff peak RSS',
      'diff peak disk',
      'store size',
      'import start-up',
      'serve start-up',
      'lookups idle p50/p99',
      'lookups during import p50/p99',
      ...(rate ? [`lookups at ${count(rate)}/s idle p50/p99`, `lookups at ${count(rate)}/s during import p50/p99`] : []),
      'lookup index after the import',
    ],
    rows,
  ),
);

function row(store: string, r: StoreResult): string[] {
  const perRecord = (s: number, lines: number) => (lines ? ((s * 1e6) / lines).toFixed(1) : '-');
  const disk = (peak: number | null) => (peak === null ? 'not measured' : store === 'mariadb' ? `datadir +${bytes(peak)}` : bytes(peak));
  const latency = (m: { p50Ms: number; p99Ms: number; errors: number }) =>
    `${m.p50Ms} / ${m.p99Ms} ms${m.errors ? ` (${m.errors} errors)` : ''}`;
  const underImport = (u: UnderImport) => `${latency(u.lookups)}; overlap ${u.overlapSeconds.toFixed(1)} of ${u.loadSeconds.toFixed(1)} s`;
  const folder = r.size.folderBytes === null ? '' : `, files ${bytes(r.size.folderBytes)}`;
  const full = r.full;
  const loadedEarlier = ['loaded earlier', '-', '-', '-'];
  return [
    store,
    count(records),
    `${generator(day1)} / ${generator(day2)}`,
    ...(full
      ? [
          `${seconds(full.seconds)}, ${count(full.linesRead / full.seconds)}/s`,
          perRecord(full.seconds, full.linesRead),
          `${Math.round(full.peakRssMb)} MB`,
          disk(full.peakDiskBytes),
        ]
      : loadedEarlier),
    `${seconds(r.diff.seconds)} (+${r.diff.inserted} ~${r.diff.updated} -${r.diff.deleted})`,
    perRecord(r.diff.seconds, r.diff.linesRead),
    `${Math.round(r.diff.peakRssMb)} MB`,
    disk(r.diff.peakDiskBytes),
    `${bytes(r.size.bytes)} (${(r.size.bytes / feedBytes).toFixed(2)}× feed${folder})`,
    seconds(r.importStartupSeconds),
    seconds(r.serveStartupSeconds),
    latency(r.idle),
    `${underImport(r.duringImport)} (import ran ${seconds(r.importUnderLoadSeconds)})`,
    ...(r.atRate ? [latency(r.atRate.idle), underImport(r.atRate.duringImport)] : []),
    indexChange(r.indexAfterImport),
  ];
}

function indexChange({ patched, folded, seconds: took, keys, afterImportSeconds }: IndexChange): string {
  const how = patched ? `patched${folded ? ' and folded' : ''}, ${count(keys ?? 0)} keys,` : 'built whole';
  return `${how} ${seconds(took)}; answering ${seconds(afterImportSeconds)} after the import ended`;
}
