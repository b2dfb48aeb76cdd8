import { commaList, loadConfig } from '../config.ts';

/** What `buildServer` needs to know beyond the store. */
export interface ServerConfig {
  /** Bearer tokens accepted on data routes; empty: the API is open. */
  tokens: readonly string[];
  /** /readyz fails when a feed holding data is older than this; null: no age limit. */
  readyMaxAgeSeconds?: number | null;
  /** Time to receive a whole request, headers and body, before answering 408 and closing. */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs?: number;
  /** Browser origins allowed to read answers (CORS); empty: no CORS headers at all. */
  corsOrigins?: readonly string[];
  /**
   * Where single and batch lookups read: `memory`, an index of the current data in this
   * process (lookup/), or `database`, the store itself. Default: database (IPOID_LOOKUP_INDEX
   * defaults to memory for `ipoid serve`).
   */
  lookupIndex?: LookupIndexMode;
  /** The most records an export answers (IPOID_EXPORT_MAX_RECORDS); more answer 413. */
  exportMaxRecords?: number;
  /** The built web console served at /ui/ (default: dist/ui, where `npm run build` writes it). */
  consoleDir?: string;
}

export const LOOKUP_INDEX_MODES = ['memory', 'database'] as const;
export type LookupIndexMode = (typeof LOOKUP_INDEX_MODES)[number];

/** The API's settings from the environment (documented in the README). */
export interface ApiConfig extends ServerConfig {
  host: string;
  port: number;
  /** Database the API reads. */
  dbUrl: string;
  /** True when IPOID_DB_READ_URL names it: open read-only (a SELECT-only user, a replica). */
  readOnly: boolean;
  /** MariaDB: connections the API reads through (the store's default when unset). */
  dbPoolSize?: number;
  /** IPOID_HISTORY_DAYS: the window `at` and `dt` answer for. */
  historyDays: number;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** About a gigabyte of CSV, or a few minutes of streaming. */
export const DEFAULT_EXPORT_MAX_RECORDS = 10_000_000;
const MAX_DB_POOL_SIZE = 1000;
// Fastify's default: longer than the 60 s idle timeout of common load balancers, so that they
// never reuse a connection the API is closing.
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 72_000;

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const readUrl = env.IPOID_DB_READ_URL;
  return {
    host: env.IPOID_HOST || DEFAULT_HOST,
    port: parsePort(env.IPOID_PORT),
    tokens: commaList(env.IPOID_API_TOKENS),
    readyMaxAgeSeconds: parseHours(env.IPOID_READY_MAX_AGE_HOURS),
    requestTimeoutMs: parseMilliseconds('IPOID_REQUEST_TIMEOUT_MS', env.IPOID_REQUEST_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: parseMilliseconds('IPOID_KEEP_ALIVE_TIMEOUT_MS', env.IPOID_KEEP_ALIVE_TIMEOUT_MS, DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
    corsOrigins: parseOrigins(env.IPOID_CORS_ORIGINS),
    exportMaxRecords: parseRecordCount('IPOID_EXPORT_MAX_RECORDS', env.IPOID_EXPORT_MAX_RECORDS, DEFAULT_EXPORT_MAX_RECORDS),
    dbUrl: readUrl || loadConfig(env).dbUrl,
    historyDays: loadConfig(env).historyDays,
    readOnly: Boolean(readUrl),
    dbPoolSize: parsePoolSize(env.IPOID_DB_POOL_SIZE),
    lookupIndex: parseLookupIndex(env.IPOID_LOOKUP_INDEX),
  };
}

function parseLookupIndex(text: string | undefined): LookupIndexMode {
  if (text === undefined || text === '') return 'memory';
  const mode = LOOKUP_INDEX_MODES.find((m) => m === text);
  if (!mode) throw new Error(`IPOID_LOOKUP_INDEX must be ${LOOKUP_INDEX_MODES.join(' or ')}, not ${JSON.stringify(text)}`);
  return mode;
}

function parsePoolSize(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const size = Number(text);
  if (!/^\d+$/.test(text) || size < 1 || size > MAX_DB_POOL_SIZE) {
    throw new Error(`IPOID_DB_POOL_SIZE must be a number of connections (1-${MAX_DB_POOL_SIZE}), not ${JSON.stringify(text)}`);
  }
  return size;
}

function parseRecordCount(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const count = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(count))
    throw new Error(`${name} must be a whole number of records, not ${JSON.stringify(text)}`);
  return count;
}

function parsePort(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new Error(`IPOID_PORT must be a port number (0-65535), not ${JSON.stringify(text)}`);
  return port;
}

function parseHours(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const hours = Number(text);
  if (!(hours > 0)) throw new Error(`IPOID_READY_MAX_AGE_HOURS must be a positive number of hours, not ${JSON.stringify(text)}`);
  return Math.round(hours * 3600);
}

// 0 would mean "no limit" to Node; above a 32-bit timer Node silently uses 1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

function parseMilliseconds(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 1 || ms > MAX_TIMER_MS) {
    throw new Error(`${name} must be a whole number of milliseconds (1-${MAX_TIMER_MS}), not ${JSON.stringify(text)}`);
  }
  return ms;
}

function isOrigin(text: string): boolean {
  if (text.includes('*') || !URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
}

// Exact origins only, as browsers send them: a wildcard would let any site read the data.
function parseOrigins(text: string | undefined): string[] {
  const origins = commaList(text);
  for (const origin of origins) {
    if (!isOrigin(origin)) {
      throw new Error(
        `IPOID_CORS_ORIGINS must list origins like https://tools.example.org (scheme, host, optional port), not ${JSON.stringify(origin)}`,
      );
    }
  }
  return origins;
}
