import type { Logger } from '../log.ts';
import type { FeedType } from '../feed/feed-types.ts';
import { saveBody, type StallLimits } from './download.ts';
import { IncompleteDownloadError, SpurAuthError, SpurHttpError, withCause } from './errors.ts';
import { VERSION } from '../version.ts';
import { retryAfterMs, spurRetryPolicy, withRetries, type RetryPolicy } from './retry.ts';
import { parseSlotPath, slotOf, slotPath } from '../realtime/slot.ts';

export interface SpurSettings extends StallLimits {
  /** Where Spur's API lives, e.g. https://feeds.spur.us; the only origin that receives the token. */
  baseUrl: string;
  token: string;
  /** Tries per request, the first included. */
  attempts: number;
  /** Delay before the first retry; doubles on each further one. */
  retryDelayMs: number;
  /** Time to receive a response's headers (the body is watched by the stall limits). */
  requestTimeoutMs: number;
}

export interface LatestFeed {
  /** Absolute URL of the feed file. */
  location: string;
  /** YYYYMMDD, from x-feed-generation-date. */
  date: string;
}

const MAX_REDIRECTS = 5;
const USER_AGENT = `ipoid/${VERSION}`;

/** The slot of an RFC 3339 time; undefined when it is not one. */
function realtimeDate(text: string): Date | undefined {
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : slotOf(new Date(at));
}

/** A URL as it may be logged: signed storage URLs carry credentials in their query string. */
export function safeUrl(url: URL | string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

const isRedirect = (status: number): boolean => status >= 300 && status < 400;

/**
 * Spur's feed download protocol: `latest.json.gz` answers a redirect to the file and its
 * generation date; the file is then streamed to disk. Requests are retried with backoff.
 *
 * The token goes only to the origin of the base URL (Spur's own protocol sends it with the
 * second GET too, when the file lives there). A redirect to another origin, such as a
 * pre-signed storage URL, is followed without it, so the token never leaves Spur.
 */
export class SpurClient {
  readonly #settings: SpurSettings;
  readonly #logger: Logger;
  readonly #base: URL;
  readonly #retry: RetryPolicy;

  constructor(settings: SpurSettings, logger: Logger) {
    this.#settings = settings;
    this.#logger = logger;
    // A trailing slash, so that `v2/…` resolves below any path the base URL has.
    this.#base = new URL(settings.baseUrl.endsWith('/') ? settings.baseUrl : `${settings.baseUrl}/`);
    this.#retry = spurRetryPolicy(settings.attempts, settings.retryDelayMs);
  }

  latestFeed(feedType: FeedType): Promise<LatestFeed> {
    const url = new URL(`v2/${feedType}/latest.json.gz`, this.#base);
    return withRetries(`asking Spur for the latest ${feedType} feed`, this.#retry, this.#logger, async () => {
      const res = await this.#get(url, AbortSignal.timeout(this.#settings.requestTimeoutMs));
      await res.body?.cancel();
      const location = res.headers.get('location');
      const date = res.headers.get('x-feed-generation-date');
      if (!isRedirect(res.status) || !location) {
        throw new SpurHttpError(`${safeUrl(url)} answered ${res.status} instead of a redirect to the feed file`, res.status);
      }
      if (!date || !/^\d{8}$/.test(date)) {
        throw new SpurHttpError(
          `${safeUrl(url)} answered without a YYYYMMDD x-feed-generation-date (got ${JSON.stringify(date)})`,
          res.status,
        );
      }
      return { location: new URL(location, url).toString(), date };
    });
  }

  /** The newest realtime slot Spur has published for the feed (`realtime/latest`). */
  realtimeLatest(feedType: FeedType): Promise<Date> {
    const url = new URL(`v2/${feedType}/realtime/latest`, this.#base);
    return withRetries(`asking Spur for the latest ${feedType} realtime file`, this.#retry, this.#logger, async () => {
      const res = await this.#get(url, AbortSignal.timeout(this.#settings.requestTimeoutMs));
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new SpurHttpError(`${safeUrl(url)} answered ${res.status} instead of the latest realtime file`, res.status);
      }
      const body = (await res.json().catch(() => null)) as { json?: { date?: unknown; location?: unknown } } | null;
      const { date, location } = body?.json ?? {};
      // The location's path names the file exactly (a signed URL's query string aside); the date is the fallback.
      const slot =
        (typeof location === 'string' && parseSlotPath(new URL(location, url).pathname)) ||
        (typeof date === 'string' && realtimeDate(date));
      if (!slot) throw new SpurHttpError(`${safeUrl(url)} answered no realtime file's date or location`, res.status);
      return slot;
    });
  }

  /** The URL of a realtime slot's file. */
  realtimeFile(feedType: FeedType, slot: Date): string {
    return new URL(`v2/${feedType}/realtime/${slotPath(slot)}.json.gz`, this.#base).toString();
  }

  /** Downloads the file to `destPath` (overwritten on each try); answers its size in bytes. */
  downloadFeed(location: string, destPath: string): Promise<number> {
    return withRetries(`downloading ${safeUrl(location)}`, this.#retry, this.#logger, async () => {
      const headersDue = new AbortController();
      const timeoutMs = this.#settings.requestTimeoutMs;
      const timer = setTimeout(() => headersDue.abort(new IncompleteDownloadError(`no response within ${timeoutMs / 1000}s`)), timeoutMs);
      let res: Response;
      try {
        res = await this.#follow(new URL(location), headersDue.signal);
      } finally {
        clearTimeout(timer);
      }
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel();
        throw new SpurHttpError(`${safeUrl(location)} answered ${res.status} instead of the feed file`, res.status);
      }
      const length = res.headers.get('content-length');
      return saveBody(res.body, destPath, length === null ? null : Number(length), this.#settings);
    });
  }

  /** Follows redirects by hand, so that each hop decides afresh whether it gets the token. */
  async #follow(start: URL, signal: AbortSignal): Promise<Response> {
    let url = start;
    for (let hop = 0; ; hop++) {
      const res = await this.#get(url, signal);
      const location = res.headers.get('location');
      if (!isRedirect(res.status) || !location) return res;
      await res.body?.cancel();
      if (hop === MAX_REDIRECTS) throw new SpurHttpError(`more than ${MAX_REDIRECTS} redirects from ${safeUrl(start)}`, res.status);
      url = new URL(location, url);
    }
  }

  async #get(url: URL, signal: AbortSignal): Promise<Response> {
    const sendsToken = url.origin === this.#base.origin;
    // Names itself, as API clients should, so Spur can tell IPoid's traffic (and version) apart.
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...(sendsToken && { Token: this.#settings.token }) };
    const res = await fetch(url, { redirect: 'manual', signal, headers }).catch((err: unknown) => {
      // Our own abort reasons say what happened; fetch's errors need the URL and their cause.
      throw err instanceof IncompleteDownloadError ? err : new Error(`cannot fetch ${safeUrl(url)}: ${withCause(err)}`, { cause: err });
    });
    this.#logger.debug({ url: safeUrl(url), status: res.status, token: sendsToken }, 'spur request');
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      const hint = sendsToken
        ? 'check SPUR_API_TOKEN or SPUR_API_TOKEN_FILE'
        : `the request went without the token, which only ${this.#base.origin} (SPUR_FEED_BASE_URL) receives`;
      throw new SpurAuthError(`Spur refused access (${res.status}) to ${safeUrl(url)}: ${hint}`);
    }
    if (this.#retry.retryStatuses.has(res.status)) {
      await res.body?.cancel();
      throw new SpurHttpError(`${safeUrl(url)} answered ${res.status}`, res.status, retryAfterMs(res.headers.get('retry-after')));
    }
    return res;
  }
}
