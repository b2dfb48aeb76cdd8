import { loadConfig } from '../config.ts';

/** What `buildServer` needs to know beyond the store. */
export interface ServerConfig {
  /** Bearer tokens accepted on data routes; empty: the API is open. */
  tokens: readonly string[];
  /** /readyz fails when a feed holding data is older than this; null: no age limit. */
  readyMaxAgeSeconds?: number | null;
}

/** The API's settings from the environment (documented in the README). */
export interface ApiConfig extends ServerConfig {
  host: string;
  port: number;
  /** Database the API reads. */
  dbUrl: string;
  /** True when IPOID_DB_READ_URL names it: open read-only (a SELECT-only user, a replica). */
  readOnly: boolean;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const readUrl = env.IPOID_DB_READ_URL;
  return {
    host: env.IPOID_HOST || DEFAULT_HOST,
    port: parsePort(env.IPOID_PORT),
    tokens: (env.IPOID_API_TOKENS ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== ''),
    readyMaxAgeSeconds: parseHours(env.IPOID_READY_MAX_AGE_HOURS),
    dbUrl: readUrl || loadConfig(env).dbUrl,
    readOnly: Boolean(readUrl),
  };
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
