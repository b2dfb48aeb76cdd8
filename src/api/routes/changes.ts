import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { allChanges, changesPage, checkSpan } from '../../history/changes.ts';
import { parseFeedDay } from '../../history/feed-day.ts';
import type { Store } from '../../store/types.ts';
import { CHANGES_EXPORT } from '../export.ts';
import { changeItem } from '../ipoid-shape.ts';
import { formatAccepted, labelFilters, linkNext, listingResponses, pageSize, prefix, sendWhole } from '../list-params.ts';
import { ChangesPage, ChangesQuery } from '../schemas.ts';

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
        response: listingResponses(ChangesPage, 'change'),
      },
    },
    async (request, reply) => {
      const query = request.query as ChangesQuery;
      const since = parseFeedDay(query.since, 'since');
      const until = query.until === undefined ? undefined : parseFeedDay(query.until, 'until');
      await checkSpan(store, since, until);
      const filter = { since, until, labels: labelFilters(query), within: prefix(query.prefix) };
      const format = query.format ?? formatAccepted(request.headers.accept);
      if (format !== 'json') return sendWhole(reply, query, format, allChanges(store, filter), CHANGES_EXPORT);
      const page = await changesPage(store, { ...filter, limit: pageSize(query.limit), after: query.cursor });
      linkNext(reply, request.url, page.next);
      return { changes: page.changes.map(changeItem), next: page.next ?? null };
    },
  );
};
