/*
 * The two sides of the API benchmark: `ipoid serve` in a child process (so that its memory is
 * measured alone, from /proc) and a load driver (autocannon or wrk) over many distinct addresses.
 */
import { setTimeout as delay } from 'node:timers/promises';
import autocannon from 'autocannon';
import { spawnIpoid } from './ipoid-process.ts';
import { driveWrk } from './wrk.ts';
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
  /** Calls `listener` with each line the server logs from now on. */
  onLogLine(listener: (line: string) => void): void;
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
    onLogLine: (listener) => child.onStderrLine(listener),
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
function roundRobin<T>(items: T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length]!;
}

/** A request of a load: a GET of `path`, or a POST of a JSON `body`. */
export type LoadRequest = { path: string } | { path: string; body: string };

/** GET /feed/v1/ip/{ip} over the addresses. */
export function singleLookups(addresses: string[]): LoadRequest[] {
  return addresses.map((ip) => ({ path: `/feed/v1/ip/${ip}` }));
}

/** Seconds of load before a measured one, so that caches and connections are warm. */
export const WARMUP_SECONDS = 3;

export interface Load {
  connections: number;
  seconds: number;
  /** The requests, taken in turn by every connection together, round and round. */
  requests: LoadRequest[];
  /**
   * Requests a second offered by all the connections together (autocannon only): the
   * latency a client sees at that traffic, corrected for coordinated omission. Unset, each
   * connection sends its next request as soon as it has an answer: the server's most.
   */
  rate?: number;
}

export interface Measured {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors, timeouts and statuses other than 200 and 404. */
  errors: number;
}

/** The load driver's name, as IPOID_BENCH_DRIVER sets it. */
export const benchDriver = (): string => process.env.IPOID_BENCH_DRIVER || 'autocannon';

/**
 * The load driver, IPOID_BENCH_DRIVER: autocannon (the default, from npm) or wrk (Debian's
 * `apt-get install wrk`), which is C and costs the cores the server shares far less CPU a
 * request, so that more of the machine measures the server.
 */
export function drive(base: string, load: Load): Promise<Measured> {
  const driver = benchDriver();
  if (driver === 'wrk') return driveWrk(base, load);
  if (driver !== 'autocannon') throw new Error(`IPOID_BENCH_DRIVER must be autocannon or wrk, not ${JSON.stringify(driver)}`);
  return driveAutocannon(base, load);
}

async function driveAutocannon(base: string, load: Load): Promise<Measured> {
  const next = roundRobin(load.requests);
  const result = await autocannon({
    url: base,
    connections: load.connections,
    duration: load.seconds,
    ...(load.rate !== undefined && { overallRate: load.rate }),
    requests: [
      {
        setupRequest: (request) => {
          const item = next();
          return 'body' in item
            ? { ...request, method: 'POST', path: item.path, body: item.body, headers: { 'content-type': 'application/json' } }
            : { ...request, method: 'GET', path: item.path };
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
