import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listAll } from '../../store/list-all.ts';
import type { Store } from '../../store/types.ts';
import { LIST_EXPORT } from '../export.ts';
import { listItem } from '../ipoid-shape.ts';
import { formatAccepted, labelFilters, linkNext, listingResponses, pageSize, prefix, sendWhole } from '../list-params.ts';
import { LABEL_FILTERS_MAX, ListPage, ListQuery, PAGE_DEFAULT, PAGE_MAX } from '../schemas.ts';

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
        response: listingResponses(ListPage, 'list item'),
      },
    },
    async (request, reply) => {
      const query = request.query as ListQuery;
      const filter = { labels: labelFilters(query), within: prefix(query.prefix) };
      const format = query.format ?? formatAccepted(request.headers.accept);
      if (format !== 'json') return sendWhole(reply, query, format, listAll(store, filter), LIST_EXPORT);
      const page = await store.list({ ...filter, limit: pageSize(query.limit), after: query.cursor });
      linkNext(reply, request.url, page.next);
      return { ips: page.records.map(listItem), next: page.next ?? null };
    },
  );
};
