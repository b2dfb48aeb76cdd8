/*
 * The two sides of the API benchmark: `ipoid serve` in a child process (so that its memory is
 * measured alone, from /proc) and autocannon driving it over many distinct addresses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

export interface Server {
  base: string;
  /** Peak resident memory so far (VmHWM), in MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

export async function startServer(dbUrl: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], {
    env: { ...process.env, IPOID_DB_URL: dbUrl, IPOID_PORT: '0', IPOID_LOG_LEVEL: 'info', IPOID_API_TOKENS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const base = await listeningUrl(child);
  return {
    base,
    peakRssMb: () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024,
    stop: () =>
      new Promise((resolve) => {
        child.once('close', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /IPoid API listening at (http:\/\/[\d.:]+)/.exec(seen);
      if (m) resolve(m[1]!);
    });
    child.once('close', (code) => reject(new Error(`ipoid serve exited (${code}):\n${seen}`)));
  });
}

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
