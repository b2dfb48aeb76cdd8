/*
 * Import benchmark: for generated feeds of each size, on each store, a full load into an empty
 * database and then a diff import of the next day's feed (5% churn). Each import runs in its
 * own process so its peak RSS is measured alone.
 *
 *   npm run bench:import -- [--sizes 100000,1000000] [--stores sqlite,mariadb]
 *
 * MariaDB is reached at IPOID_BENCH_MARIADB_URL (default mariadb://root@127.0.0.1:3306/ipoid_bench).
 * Feeds are cached in bench/out/ (same seed, same file).
 */
import { parseArgs } from 'node:util';
import { benchDatabaseUrl, freshDatabase } from './databases.ts';
import { benchFeed, benchNextDayFeed } from './feeds.ts';
import { measureImport } from './imports.ts';
import { markdownTable } from './report.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    stores: { type: 'string', default: 'sqlite,mariadb' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const stores = values.stores.split(',');

const rows: string[][] = [];
for (const size of sizes) {
  const { file: day1 } = await benchFeed(size);
  const { file: day2 } = await benchNextDayFeed(size);
  for (const store of stores) {
    const url = await freshDatabase(benchDatabaseUrl(store, ''));
    const full = await measureImport(url, day1);
    const diff = await measureImport(url, day2);
    rows.push([
      store,
      size.toLocaleString('en'),
      `${full.seconds.toFixed(1)} s`,
      `${Math.round(full.linesRead / full.seconds).toLocaleString('en')}/s`,
      `${diff.seconds.toFixed(1)} s (+${diff.inserted} ~${diff.updated} -${diff.deleted})`,
      `${Math.round(Math.max(full.peakRssMb, diff.peakRssMb))} MB`,
    ]);
    console.log(rows[rows.length - 1]!.join(' | '));
  }
}

console.log(`\n${markdownTable(['store', 'records', 'full load', 'records/s', '5% churn diff', 'peak RSS'], rows)}`);
