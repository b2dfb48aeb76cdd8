import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import Negotiator from 'negotiator';
import { InvalidIpError, parseIpOrNetwork, type CanonicalIp } from '../../feed/ip.ts';
import { LABEL_KINDS } from '../../feed/record.ts';
import { listAll } from '../../store/list-all.ts';
import type { LabelFilter, Store } from '../../store/types.ts';
import { InputError, NotAcceptableError } from '../../errors.ts';
import { CONTENT_TYPES, exportLines } from '../export.ts';
import { listItem } from '../ipoid-shape.ts';
import {
  errorResponses,
  LABEL_FILTERS_MAX,
  ListPage,
  ListQuery,
  PAGE_DEFAULT,
  PAGE_MAX,
  PARAM_OF_KIND,
  type ListFormat,
} from '../schemas.ts';

/** Stored records by label and prefix: keyset pages of JSON, or the whole result streamed. */
export const listRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/feed/v1/ips',
    {
      schema: {
        summary: 'Stored records matching every given label and inside a prefix',
        description:
          'Records in address order (then feed). JSON answers come in pages of `limit` (default ' +
          `${PAGE_DEFAULT}, at most ${PAGE_MAX}); pass "next" back as \`cursor\` for the following page (also given as a ` +
          'Link rel="next" header). Each record is visited exactly once, even while an import runs. ' +
          '`format=ndjson` or `format=csv` streams the whole result instead, without limit or cursor. Without `format`, the ' +
          'Accept header chooses (q-values honoured; application/json when it has none or admits any), and 406 answers an ' +
          'Accept that admits none of application/json, application/x-ndjson and text/csv. CSV joins array values with "|", and a cell starting ' +
          "with =, +, -, @, a tab or a carriage return is prefixed with ' and quoted, so that a spreadsheet shows it as text. Unknown parameters are refused, and so are more " +
          `than ${LABEL_FILTERS_MAX} distinct label values in all.`,
        tags: ['ipoid'],
        querystring: ListQuery,
        response: {
          200: {
            description: 'A page, or the streamed result',
            content: {
              'application/json': { schema: ListPage },
              'application/x-ndjson': { schema: Type.Unsafe<Readable>({ type: 'string', description: 'one list item per line' }) },
              'text/csv': { schema: Type.Unsafe<Readable>({ type: 'string', description: 'a header row, then one row per record' }) },
            },
          },
          ...errorResponses(400, 401, 406, 503),
        },
      },
    },
    async (request, reply) => {
      const query = request.query as ListQuery;
      const filter = { labels: labelFilters(query), within: prefix(query.prefix) };
      const format = query.format ?? formatAccepted(request.headers.accept);
      if (format !== 'json') {
        if (query.limit !== undefined || query.cursor !== undefined) {
          throw new InputError(`limit and cursor page JSON answers; format ${format} streams the whole result`);
        }
        const lines = await started(exportLines(listAll(store, filter), format));
        return reply.type(CONTENT_TYPES[format]).send(Readable.from(lines));
      }
      const page = await store.list({ ...filter, limit: pageSize(query.limit), after: query.cursor });
      if (page.next) reply.header('link', `<${withCursor(request.url, page.next)}>; rel="next"`);
      return { ips: page.records.map(listItem), next: page.next ?? null };
    },
  );
};

function labelFilters(query: ListQuery): LabelFilter[] {
  const filters = LABEL_KINDS.flatMap((kind) => [...new Set(query[PARAM_OF_KIND[kind]])].map((value) => ({ kind, value })));
  if (filters.length > LABEL_FILTERS_MAX) {
    throw new InputError(`at most ${LABEL_FILTERS_MAX} distinct label values in all parameters together, not ${filters.length}`);
  }
  return filters;
}

/** The page size `limit` asks for (its schema admits only digits). */
function pageSize(limit: string | undefined): number {
  if (limit === undefined) return PAGE_DEFAULT;
  const size = Number(limit);
  if (size < 1 || size > PAGE_MAX) throw new InputError(`querystring/limit must be from 1 to ${PAGE_MAX}`);
  return size;
}

function prefix(text: string | undefined): CanonicalIp | undefined {
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
function formatAccepted(accept: string | undefined): ListFormat {
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
async function started<T>(iterator: AsyncGenerator<T>): Promise<AsyncGenerator<T>> {
  const first = await iterator.next();
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* iterator;
  })();
}
