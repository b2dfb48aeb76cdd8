/*
 * API benchmark: `ipoid serve` on a store holding a generated feed, driven by autocannon over
 * many distinct addresses (80% stored, 20% not): single lookups at 1, 10 and 50 connections,
 * then the batch route (100 and 1,000 addresses a request) at 10. Prints requests/s,
 * addresses/s, p50/p99 latency, errors, the server's CPU per request and its peak RSS; and the
 * lookup index's size and build time. `--lookup` picks where lookups read (IPOID_LOOKUP_INDEX):
 * the in-memory index, the database, or both in turn.
 *
 *   npm run bench:api -- [--records 1000000] [--stores sqlite,mariadb] [--lookup memory,database] [--seconds 10]
 *
 * MariaDB is reached at IPOID_BENCH_MARIADB_URL (default mariadb://root@127.0.0.1:3306/ipoid_bench),
 * in a database of its own: <name>_api_<records>. Feeds and databases are cached in bench/out/
 * and reused when they already hold the same feed. The driver and the server share the
 * machine: on few cores, the driver's CPU is part of the figure (IPOID_BENCH_DRIVER=wrk costs
 * less of it than autocannon, the default).
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureImported, HIT_RATIO, SAMPLE_SIZE, sampleAddresses } from './api-data.ts';
import { benchDriver, drive, singleLookups, startServer, WARMUP_SECONDS, type Load, type LookupMode } from './api-load.ts';
import { benchDatabaseUrl } from './databases.ts';
import { benchFeed } from './feeds.ts';
import { markdownTable } from './report.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    stores: { type: 'string', default: 'sqlite,mariadb' },
    seconds: { type: 'string', default: '10' },
    lookup: { type: 'string', default: 'memory' },
  },
});
const records = Number(values.records);
const seconds = Number(values.seconds);
const BATCHES = [100, 1000];

const { file: feed } = await benchFeed(records);
const addresses = await sampleAddresses(feed, records, SAMPLE_SIZE, HIT_RATIO);
const single = singleLookups(addresses);
const batchesOf = (size: number) =>
  Array.from({ length: SAMPLE_SIZE / size }, (_, i) => ({
    path: '/feed/v1/ips',
    body: JSON.stringify({ ips: addresses.slice(i * size, (i + 1) * size) }),
  }));
const phases: { route: string; ipsPerRequest: number; load: Load }[] = [
  ...[1, 10, 50].map((connections) => ({
    route: 'GET /feed/v1/ip/{ip}',
    ipsPerRequest: 1,
    load: { connections, seconds, requests: single },
  })),
  ...BATCHES.map((size) => ({
    route: `POST /feed/v1/ips (${size})`,
    ipsPerRequest: size,
    load: { connections: 10, seconds, requests: batchesOf(size) },
  })),
];

const header = ['store', 'lookup', 'route', 'connections', 'req/s', 'IPs/s', 'p50', 'p99', 'errors', 'server CPU/req', 'server peak RSS'];
const rows: string[][] = [];
const indexes: string[][] = [];
for (const storeName of values.stores.split(',')) {
  const url = benchDatabaseUrl(storeName, `api_${records}`);
  console.error(`${storeName}: ${await ensureImported(url, feed, records)} ${records.toLocaleString('en')} records`);
  for (const lookup of values.lookup.split(',') as LookupMode[]) {
    const server = await startServer(url, lookup);
    if (server.index) {
      const { records: held, bytes, buildSeconds } = server.index;
      indexes.push([
        storeName,
        held.toLocaleString('en'),
        `${(bytes / 2 ** 20).toFixed(0)} MB`,
        `${(((bytes / held) * 1e6) / 2 ** 20).toFixed(1)} MB`,
        `${buildSeconds.toFixed(1)} s`,
      ]);
      console.error(indexes.at(-1)!.join(' | '));
    }
    try {
      await drive(server.base, { connections: 10, seconds: WARMUP_SECONDS, requests: single });
      for (const { route, ipsPerRequest, load } of phases) {
        const cpuBefore = server.cpuSeconds();
        const m = await drive(server.base, load);
        const cpuPerRequest = (server.cpuSeconds() - cpuBefore) / (m.requestsPerSecond * load.seconds);
        const row = [
          storeName,
          lookup,
          route,
          String(load.connections),
          Math.round(m.requestsPerSecond).toLocaleString('en'),
          Math.round(m.requestsPerSecond * ipsPerRequest).toLocaleString('en'),
          `${m.p50Ms} ms`,
          `${m.p99Ms} ms`,
          String(m.errors),
          `${Math.round(cpuPerRequest * 1e6)} µs`,
          `${Math.round(server.peakRssMb())} MB`,
        ];
        rows.push(row);
        console.error(row.join(' | '));
      }
    } finally {
      await server.stop();
    }
  }
}

console.log(
  `\n${records.toLocaleString('en')} records, ${SAMPLE_SIZE.toLocaleString('en')} distinct addresses (${HIT_RATIO * 100}% stored), ${seconds} s a row, ${cpus().length} CPUs shared by driver (${benchDriver()}) and server`,
);
console.log(markdownTable(header, rows));
if (indexes.length)
  console.log(`\nLookup index\n${markdownTable(['store', 'records', 'arrays', 'per million records', 'build'], indexes)}`);
