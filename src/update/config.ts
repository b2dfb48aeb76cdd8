import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { commaList, loadImportConfig } from '../config.ts';
import type { SpurSettings } from '../spur/client.ts';
import { FEED_TYPES, type FeedType } from '../feed/feed-types.ts';

/** What `ipoid update` needs beyond the store, from the environment (documented in the README). */
export interface UpdateConfig {
  feeds: FeedType[];
  /** Where feeds are downloaded to, each into its own temporary directory. */
  downloadDir: string;
  /** Data of a feed older than this many days is removed; 0 keeps it forever. */
  maxFeedAgeDays: number;
  /** Share of skipped lines above which a feed's import fails (IPOID_MAX_SKIPPED_RATIO). */
  maxSkippedRatio: number;
  /** Share of a feed's stored records above which its import is refused (IPOID_MAX_CHANGE_RATIO). */
  maxChangeRatio: number;
  spur: SpurSettings;
}

export const DEFAULT_SPUR_BASE_URL = 'https://feeds.spur.us';

export function parseFeeds(text: string): FeedType[] {
  const feeds = commaList(text);
  for (const feed of feeds) {
    if (!(FEED_TYPES as readonly string[]).includes(feed))
      throw new Error(`unknown feed type ${JSON.stringify(feed)}: use ${FEED_TYPES.join(', ')}`);
  }
  if (feeds.length === 0) throw new Error('no feed type given');
  return [...new Set(feeds)] as FeedType[];
}

/**
 * The token from SPUR_API_TOKEN or from the file SPUR_API_TOKEN_FILE names (a mounted
 * Kubernetes secret). Setting both is an error, as for the official database images'
 * *_FILE variables: silently preferring one would hide a stale secret.
 */
function spurToken(env: NodeJS.ProcessEnv): string {
  const inline = env.SPUR_API_TOKEN;
  const file = env.SPUR_API_TOKEN_FILE;
  if (inline && file) throw new Error('set SPUR_API_TOKEN or SPUR_API_TOKEN_FILE, not both');
  let token = inline;
  if (file) {
    try {
      token = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read SPUR_API_TOKEN_FILE ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        cause: err,
      });
    }
  }
  token = token?.trim();
  if (!token)
    throw new Error(file ? `SPUR_API_TOKEN_FILE ${file} is empty` : 'set SPUR_API_TOKEN (or SPUR_API_TOKEN_FILE) to your Spur API token');
  return token;
}

/** The token must not cross the network in clear text; plain http is for a local fake server only. */
function baseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`SPUR_FEED_BASE_URL is not a URL: ${JSON.stringify(text)}`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new Error(`SPUR_FEED_BASE_URL must be https:// (plain http only on loopback), not ${url.origin}`);
  }
  return text;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number, { allowZero = false } = {}): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !allowZero))
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, not ${JSON.stringify(text)}`);
  return value;
}

/** What `ipoid follow` and `ipoid update --realtime` need beyond the update's settings. */
export interface FollowConfig extends UpdateConfig {
  /** How often Spur is asked for a new realtime file (IPOID_REALTIME_POLL_SECONDS). */
  pollSeconds: number;
}

export const DEFAULT_REALTIME_FEEDS = 'anonymous-residential';

/** The feeds followed are `feedsOption` (--feed), else IPOID_REALTIME_FEEDS: those whose proxies rotate within hours. */
export function loadFollowConfig(env: NodeJS.ProcessEnv = process.env, feedsOption?: string): FollowConfig {
  return {
    ...loadUpdateConfig(env, feedsOption ?? (env.IPOID_REALTIME_FEEDS || DEFAULT_REALTIME_FEEDS)),
    pollSeconds: positive(env, 'IPOID_REALTIME_POLL_SECONDS', 60),
  };
}

/** `feedsOption` (the command line's --feed) overrides IPOID_FEEDS. */
export function loadUpdateConfig(env: NodeJS.ProcessEnv = process.env, feedsOption?: string): UpdateConfig {
  return {
    ...loadImportConfig(env),
    feeds: parseFeeds(feedsOption ?? (env.IPOID_FEEDS || 'anonymous')),
    downloadDir: env.IPOID_DOWNLOAD_DIR || tmpdir(),
    maxFeedAgeDays: positive(env, 'IPOID_MAX_FEED_AGE_DAYS', 7, { allowZero: true }),
    spur: {
      baseUrl: baseUrl(env.SPUR_FEED_BASE_URL || DEFAULT_SPUR_BASE_URL),
      token: spurToken(env),
      attempts: Math.ceil(positive(env, 'IPOID_DOWNLOAD_ATTEMPTS', 5)),
      retryDelayMs: positive(env, 'IPOID_DOWNLOAD_RETRY_SECONDS', 5) * 1000,
      requestTimeoutMs: positive(env, 'IPOID_DOWNLOAD_TIMEOUT_SECONDS', 60) * 1000,
      stallTimeoutMs: positive(env, 'IPOID_DOWNLOAD_STALL_SECONDS', 60) * 1000,
      minBytesPerSecond: positive(env, 'IPOID_DOWNLOAD_MIN_BYTES_PER_SECOND', 1024, { allowZero: true }),
    },
  };
}
