import { Readable } from 'node:stream';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import Negotiator from 'negotiator';
import { InvalidIpError, parseIpOrNetwork, type CanonicalIp } from '../feed/ip.ts';
import { LABEL_KINDS } from '../feed/record.ts';
import type { LabelFilter } from '../store/types.ts';
import { InputError, NotAcceptableError } from '../errors.ts';
import { CONTENT_TYPES, exportItems, type Exporter } from './export.ts';
import {
  errorResponses,
  LABEL_FILTERS_MAX,
  PAGE_DEFAULT,
  PAGE_MAX,
  PARAM_OF_KIND,
  type FilterQuery,
  type ListFormat,
  type ListQuery,
} from './schemas.ts';

/*
 * The query parameters shared by the routes that list records (/feed/v1/ips) and changes
 * (/feed/v1/changes): label filters, prefix, page size and cursor, and the answer's format.
 */

export function labelFilters(query: FilterQuery): LabelFilter[] {
  const filters = LABEL_KINDS.flatMap((kind) => [...new Set(query[PARAM_OF_KIND[kind]])].map((value) => ({ kind, value })));
  if (filters.length > LABEL_FILTERS_MAX) {
    throw new InputError(`at most ${LABEL_FILTERS_MAX} distinct label values in all parameters together, not ${filters.length}`);
  }
  return filters;
}

/** The page size `limit` asks for (its schema admits only digits). */
export function pageSize(limit: string | undefined): number {
  if (limit === undefined) return PAGE_DEFAULT;
  const size = Number(limit);
  if (size < 1 || size > PAGE_MAX) throw new InputError(`querystring/limit must be from 1 to ${PAGE_MAX}`);
  return size;
}

export function prefix(text: string | undefined): CanonicalIp | undefined {
  if (text === undefined) return undefined;
  try {
    return parseIpOrNetwork(text);
  } catch (err) {
    throw err instanceof InvalidIpError ? new InputError(`invalid prefix: ${err.message}`) : err;
  }
}

// The media types the list answers in, the default first.
const OFFERED: Record<string, ListFormat> = { 'application/json': 'json', 'application/x-ndjson': 'ndjson', 'text/csv': 'csv' };

/** The format the Accept header prefers (RFC 9110 negotiation); an empty header admits anything, as none does. */
export function formatAccepted(accept: string | undefined): ListFormat {
  const type = new Negotiator({ headers: { accept: accept?.trim() || undefined } }).mediaType(Object.keys(OFFERED));
  if (type === undefined) {
    throw new NotAcceptableError(
      `Accept admits none of the offered types: ${Object.keys(OFFERED).join(', ')} (or choose one with format=json, ndjson or csv)`,
    );
  }
  return OFFERED[type]!;
}

function withCursor(url: string, cursor: string): string {
  const next = new URL(url, 'http://ipoid.invalid');
  next.searchParams.set('cursor', cursor);
  return `${next.pathname}${next.search}`;
}

/**
 * Reads the first chunk before answering, so that a store failing at once answers 503
 * rather than a 200 cut short.
 */
export async function started<T>(iterator: AsyncGenerator<T>): Promise<AsyncGenerator<T>> {
  const first = await iterator.next();
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* iterator;
  })();
}

/** The answers of a listing route: a JSON page (`page`), or the whole result streamed as ndjson or CSV lines of `item`s. */
export function listingResponses(page: TSchema, item: string) {
  return {
    200: {
      description: 'A page, or the streamed result',
      content: {
        'application/json': { schema: page },
        'application/x-ndjson': { schema: Type.Unsafe<Readable>({ type: 'string', description: `one ${item} per line` }) },
        'text/csv': { schema: Type.Unsafe<Readable>({ type: 'string', description: `a header row, then one row per ${item}` }) },
      },
    },
    ...errorResponses(400, 401, 406, 503),
  };
}

/** Streams the whole result in a format other than JSON pages, which limit and cursor do not apply to. */
export async function sendWhole<T>(
  reply: FastifyReply,
  query: ListQuery,
  format: Exclude<ListFormat, 'json'>,
  items: AsyncIterable<T>,
  exporter: Exporter<T>,
): Promise<FastifyReply> {
  if (query.limit !== undefined || query.cursor !== undefined) {
    throw new InputError(`limit and cursor page JSON answers; format ${format} streams the whole result`);
  }
  const lines = await started(exportItems(items, format, exporter));
  return reply.type(CONTENT_TYPES[format]).send(Readable.from(lines));
}

/** Names the following page in a Link header, as well as in the answer's "next". */
export function linkNext(reply: FastifyReply, url: string, next: string | undefined): void {
  if (next) reply.header('link', `<${withCursor(url, next)}>; rel="next"`);
}
