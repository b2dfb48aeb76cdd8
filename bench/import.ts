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
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mariadb from 'mariadb';
import { benchFeed, benchNextDayFeed, OUT } from './feeds.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    stores: { type: 'string', default: 'sqlite,mariadb' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const stores = values.stores.split(',');
const MARIADB_URL = process.env.IPOID_BENCH_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/ipoid_bench';

async function freshDatabase(store: string): Promise<string> {
  if (store === 'sqlite') {
    const path = join(OUT, 'bench.db');
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    return `sqlite:${path}`;
  }
  const url = new URL(MARIADB_URL);
  const conn = await mariadb.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  });
  const name = url.pathname.slice(1);
  await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await conn.end();
  return MARIADB_URL;
}

interface Measured {
  seconds: number;
  peakRssMb: number;
  inserted: number;
  updated: number;
  deleted: number;
  linesRead: number;
}

function measure(url: string, file: string): Measured {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'import-worker.ts'), url, file], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out) as Measured;
}

const rows: string[][] = [];
for (const size of sizes) {
  const day1 = await benchFeed(size);
  const day2 = await benchNextDayFeed(size);
  for (const store of stores) {
    const url = await freshDatabase(store);
    const full = measure(url, day1);
    const diff = measure(url, day2);
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

const header = ['store', 'records', 'full load', 'records/s', '5% churn diff', 'peak RSS'];
console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
