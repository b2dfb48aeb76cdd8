/*
 * The two sides of the API benchmark: `ipoid serve` in a child process (so that its memory is
 * measured alone, from /proc) and autocannon driving it over many distinct addresses.
 */
import { setTimeout as delay } from 'node:timers/promises';
import autocannon from 'autocannon';
import { spawnIpoid } from './ipoid-process.ts';
import { cpuSeconds, peakRssMb } from './measure.ts';

export interface Server {
  base: string;
  /** Seconds from spawning the process until /healthz first answered 200. */
  startupSeconds: number;
  /** Peak resident memory so far (VmHWM), in MB. */
  peakRssMb(): number;
  /** CPU seconds the server has used so far. */
  cpuSeconds(): number;
  /** The lookup index once built (IPOID_LOOKUP_INDEX=memory); null when lookups read the database. */
  index: { records: number; bytes: number; buildSeconds: number } | null;
  stop(): Promise<void>;
}

const HEALTH_POLL_MS = 10;

export type LookupMode = 'memory' | 'database';

/** `ipoid serve` on the database; with the lookup index, once the index is built. */
export async function startServer(dbUrl: string, lookup: LookupMode = 'memory'): Promise<Server> {
  const child = spawnIpoid(['serve'], {
    IPOID_DB_URL: dbUrl,
    IPOID_PORT: '0',
    IPOID_LOG_LEVEL: 'info',
    IPOID_API_TOKENS: '',
    IPOID_LOOKUP_INDEX: lookup,
  });
  const [, base] = await child.stderrMatch(/IPoid API listening at (http:\/\/[\d.:]+)/);
  while ((await fetch(`${base}/healthz`).catch(() => null))?.status !== 200) await delay(HEALTH_POLL_MS);
  const startupSeconds = (performance.now() - child.spawnedAt) / 1000;
  const pid = child.process.pid!;
  return {
    base: base!,
    startupSeconds,
    index: lookup === 'memory' ? await indexBuilt(base!) : null,
    peakRssMb: () => peakRssMb(pid) ?? 0,
    cpuSeconds: () => cpuSeconds(pid),
    stop: async () => {
      child.process.kill('SIGTERM');
      await child.exited;
    },
  };
}

const INDEX_POLL_MS = 200;

async function indexBuilt(base: string): Promise<{ records: number; bytes: number; buildSeconds: number }> {
  for (;;) {
    const info = (await (await fetch(`${base}/_info`)).json()) as {
      lookupIndex: { records: number; bytes: number; buildSeconds: number | null; building: boolean };
    };
    const { records, bytes, buildSeconds, building } = info.lookupIndex;
    if (buildSeconds !== null && !building) return { records, bytes, buildSeconds };
    await delay(INDEX_POLL_MS);
  }
}

/** Each request takes the next item, round-robin over all connections. */
export function roundRobin<T>(items: T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length]!;
}

/** GET /feed/v1/ip/{ip} over the addresses, in turn. */
export function singleLookups(addresses: string[]): () => { path: string } {
  return roundRobin(addresses.map((ip) => ({ path: `/feed/v1/ip/${ip}` })));
}

/** Seconds of load before a measured one, so that caches and connections are warm. */
export const WARMUP_SECONDS = 3;

export interface Load {
  connections: number;
  seconds: number;
  /** Path (GET) or JSON body (POST) of each request, taken in turn by every connection together. */
  next: () => { path: string } | { path: string; body: string };
}

export interface Measured {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors, timeouts and statuses other than 200 and 404. */
  errors: number;
}

export async function drive(base: string, load: Load): Promise<Measured> {
  const result = await autocannon({
    url: base,
    connections: load.connections,
    duration: load.seconds,
    requests: [
      {
        setupRequest: (request) => {
          const next = load.next();
          return 'body' in next
            ? { ...request, method: 'POST', path: next.path, body: next.body, headers: { 'content-type': 'application/json' } }
            : { ...request, method: 'GET', path: next.path };
        },
      },
    ],
  });
  const unexpected = Object.entries(result.statusCodeStats ?? {})
    .filter(([status]) => status !== '200' && status !== '404')
    .reduce((sum, [, stats]) => sum + (stats.count ?? 0), 0);
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + unexpected,
  };
}
