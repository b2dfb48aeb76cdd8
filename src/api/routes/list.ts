import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { listAll } from '../../store/list-all.ts';
import type { Store } from '../../store/types.ts';
import { InputError } from '../../errors.ts';
import { CONTENT_TYPES, exportItems, LIST_EXPORT } from '../export.ts';
import { listItem } from '../ipoid-shape.ts';
import { formatAccepted, labelFilters, pageSize, prefix, started, withCursor } from '../list-params.ts';
import { errorResponses, LABEL_FILTERS_MAX, ListPage, ListQuery, PAGE_DEFAULT, PAGE_MAX } from '../schemas.ts';

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
        const lines = await started(exportItems(listAll(store, filter), format, LIST_EXPORT));
        return reply.type(CONTENT_TYPES[format]).send(Readable.from(lines));
      }
      const page = await store.list({ ...filter, limit: pageSize(query.limit), after: query.cursor });
      if (page.next) reply.header('link', `<${withCursor(request.url, page.next)}>; rel="next"`);
      return { ips: page.records.map(listItem), next: page.next ?? null };
    },
  );
};
