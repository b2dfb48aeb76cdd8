import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { allChanges, changesPage, checkSpan } from '../../history/changes.ts';
import { parseFeedDay } from '../../history/feed-day.ts';
import type { Store } from '../../store/types.ts';
import { InputError } from '../../errors.ts';
import { CHANGES_EXPORT, CONTENT_TYPES, exportItems } from '../export.ts';
import { changeItem } from '../ipoid-shape.ts';
import { formatAccepted, labelFilters, pageSize, prefix, started, withCursor } from '../list-params.ts';
import { ChangesPage, ChangesQuery, errorResponses } from '../schemas.ts';

/** What changed between two feed days: keyset pages of JSON, or the whole result streamed (issue 11). */
export const changesRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/feed/v1/changes',
    {
      schema: {
        summary: 'The keys added, removed and changed between two feed days',
        description:
          'Every key whose record at the end of feed day `since` differs from its record at the end of `until` ' +
          "(default: the newest data), in key order (then feed), with both records in IPoid's shape (null where the " +
          'key was not in the feed). A key that changed and came back the same is not listed. Label filters and ' +
          '`prefix` are those of /feed/v1/ips: every label must match the record before or the record after. Pages, ' +
          "cursors and formats (json, ndjson, csv; CSV gives each side's labels as kind:value) are as for /feed/v1/ips. " +
          '400 for a day outside the kept history.',
        tags: ['ipoid'],
        querystring: ChangesQuery,
        response: {
          200: {
            description: 'A page, or the streamed result',
            content: {
              'application/json': { schema: ChangesPage },
              'application/x-ndjson': { schema: Type.Unsafe<Readable>({ type: 'string', description: 'one change per line' }) },
              'text/csv': { schema: Type.Unsafe<Readable>({ type: 'string', description: 'a header row, then one row per change' }) },
            },
          },
          ...errorResponses(400, 401, 406, 503),
        },
      },
    },
    async (request, reply) => {
      const query = request.query as ChangesQuery;
      const since = parseFeedDay(query.since, 'since');
      const until = query.until === undefined ? undefined : parseFeedDay(query.until, 'until');
      await checkSpan(store, since, until);
      const filter = { since, until, labels: labelFilters(query), within: prefix(query.prefix) };
      const format = query.format ?? formatAccepted(request.headers.accept);
      if (format !== 'json') {
        if (query.limit !== undefined || query.cursor !== undefined) {
          throw new InputError(`limit and cursor page JSON answers; format ${format} streams the whole result`);
        }
        const lines = await started(exportItems(allChanges(store, filter), format, CHANGES_EXPORT));
        return reply.type(CONTENT_TYPES[format]).send(Readable.from(lines));
      }
      const page = await changesPage(store, { ...filter, limit: pageSize(query.limit), after: query.cursor });
      if (page.next) reply.header('link', `<${withCursor(request.url, page.next)}>; rel="next"`);
      return { changes: page.changes.map(changeItem), next: page.next ?? null };
    },
  );
};
