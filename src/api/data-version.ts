import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/types.ts';
import { dataVersionOf, type DataVersion } from '../store/feed-status.ts';
import { FEED_DATE_HEADER } from './feed-date.ts';

// How old the version an answer names may be: an answer can name the previous import for about a second after the next commits.
const VERSION_TTL_MS = 1000;

/** Where an answer's data version comes from: the store's (DataVersions), or the lookup index's (api/lookups.ts). */
export interface VersionSource {
  /** The version answers are named by now; undefined before any is known. */
  known(): DataVersion | undefined;
  /** True when the version known may be a second old or more. */
  readonly stale: boolean;
  /** Reads the version again. */
  refresh(): Promise<void>;
}

/**
 * The data's version as last read from the store, read again in the background once it is a
 * second old: an answer never waits for it, so a database that does not answer delays no
 * answer twice (the answer's own read fails it fast).
 */
export class DataVersions implements VersionSource {
  readonly #read: () => Promise<DataVersion>;
  #known: DataVersion | undefined;
  #readAt = 0;
  #reading: Promise<void> | undefined;

  constructor(store: Store) {
    this.#read = async () => dataVersionOf(await store.feedStatus());
  }

  /** Reads the version now (the server does at start); a failure leaves the last one known. */
  refresh(): Promise<void> {
    this.#reading ??= this.#read()
      .then((version) => {
        this.#known = version;
        this.#readAt = Date.now();
      })
      .catch(() => undefined)
      .finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  /** The version last read (undefined before any read succeeded); starts a new read when it is a second old. */
  known(): DataVersion | undefined {
    if (this.stale) void this.refresh();
    return this.#known;
  }

  /** A second old or more: after a quiet night it may name the day before the last import. */
  get stale(): boolean {
    return Date.now() - this.#readAt >= VERSION_TTL_MS;
  }
}

/**
 * Every data answer names the data it reflects: X-IPoid-Feed-Date (the newest feed date; a
 * route answering for a past day names that day instead) and Last-Modified. A GET also carries
 * an ETag (the data's version, and the Accept header and URL, which pick the format and filters), and is answered
 * 304 when If-None-Match holds it, or, without If-None-Match, when If-Modified-Since is not
 * older than the data: exports and lists are then not read again.
 */
export function conditionalAnswers(app: FastifyInstance, source: VersionSource | ((request: FastifyRequest) => VersionSource)): void {
  const sourceOf = typeof source === 'function' ? source : () => source;
  if (typeof source !== 'function') app.addHook('onReady', () => source.refresh());
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const versions = sourceOf(request);
    // Only a client that may be answered 304 waits for a stale version to be read again: a
    // 304 from an old version would hide a whole import from it.
    const conditional = request.headers['if-none-match'] !== undefined || request.headers['if-modified-since'] !== undefined;
    if (conditional && versions.stale) await versions.refresh();
    const current = versions.known();
    if (!current) return;
    const etag = nameVersion(request, reply, current);
    if (etag && !versions.stale && notModified(request, etag, current.lastModified)) await reply.code(304).send();
  });
}

// The version each answer was named by: a lookup names its answer again only when the index it read was replaced meanwhile.
const namedBy = new WeakMap<FastifyReply, string>();

/** Names the data version an answer reflects in its headers (once per version); answers a GET's ETag. */
export function nameVersion(request: FastifyRequest, reply: FastifyReply, version: DataVersion): string | undefined {
  if (namedBy.get(reply) === version.tag) return reply.getHeader('etag') as string | undefined;
  namedBy.set(reply, version.tag);
  // Removed when unknown: the answer may be named again, after an index of another version answered it.
  if (version.feedDate) reply.header(FEED_DATE_HEADER, version.feedDate);
  else reply.removeHeader(FEED_DATE_HEADER);
  if (version.lastModified) reply.header('last-modified', httpDate(version.lastModified));
  else reply.removeHeader('last-modified');
  if (request.method !== 'GET') return undefined;
  const etag = `W/"${version.tag}-${representationHash(request)}"`;
  reply.header('etag', etag);
  // The data is privileged and changes with each import: no shared cache keeps it, and a
  // browser asks again (If-None-Match) before it reuses an answer.
  reply.header('cache-control', 'private, no-cache');
  return etag;
}

// Nearly every answer names the same version: its date is formatted once, not per answer.
let formatted: { date: Date; text: string } | undefined;
function httpDate(date: Date): string {
  if (formatted?.date !== date) formatted = { date, text: date.toUTCString() };
  return formatted.text;
}

const shortHash = (text: string): string => createHash('sha1').update(text).digest('hex').slice(0, 8);

// Clients send a handful of distinct Accept headers: their hashes are kept, not computed for every lookup.
const ACCEPT_HASHES_KEPT = 256;
const acceptHashes = new Map<string, string>();

/**
 * What picks the representation besides the data: the Accept header, and the query string (a
 * filter or a format parameter), so that an ETag differs per filter even to a cache that
 * ignores the URL.
 */
function representationHash(request: FastifyRequest): string {
  const accept = request.headers.accept ?? '';
  const query = request.url.indexOf('?');
  if (query !== -1) return shortHash(`${accept}\n${request.url.slice(query)}`);
  let known = acceptHashes.get(accept);
  if (known === undefined) {
    if (acceptHashes.size >= ACCEPT_HASHES_KEPT) acceptHashes.clear();
    acceptHashes.set(accept, (known = shortHash(accept)));
  }
  return known;
}

function notModified(request: FastifyRequest, etag: string, lastModified: Date | null): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const tags = ifNoneMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
    return tags.includes('*') || tags.includes(etag.replace(/^W\//, ''));
  }
  const since = Date.parse(request.headers['if-modified-since'] ?? '');
  // HTTP dates have whole seconds.
  return lastModified !== null && !Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
}
