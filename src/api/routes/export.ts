import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { EXPORT_FORMATS, EXPORT_MEDIA, exportFile, type ExportFormat } from '../../export/formats.ts';
import { DEFAULT_SET_NAME, SET_NAME_PATTERN } from '../../export/set-names.ts';
import { limitedRecords } from '../../export/size-limit.ts';
import type { Store } from '../../store/types.ts';
import { labelFilters, prefix, started } from '../list-params.ts';
import { DIGITS, errorResponses, LABEL_FILTERS_MAX, ListQuery, type FilterQuery } from '../schemas.ts';

// The list route's filters; an export has no pages, and its format is a parameter of its own.
const { limit: _limit, cursor: _cursor, format: _format, ...filterParams } = ListQuery.properties;

const ExportQuery = Type.Object(
  {
    ...filterParams,
    format: Type.Union(
      EXPORT_FORMATS.map((f) => Type.Literal(f)),
      { description: 'the file to answer' },
    ),
    max: Type.Optional(
      Type.String({ pattern: DIGITS, description: 'the most records to export, in decimal digits: more matching answer 413' }),
    ),
    name: Type.Optional(
      Type.String({
        pattern: SET_NAME_PATTERN,
        description: `ipset and nft: the sets' name (default ${DEFAULT_SET_NAME}): ipset sets NAME and NAME6, nft table NAME with sets NAME_v4 and NAME_v6`,
      }),
    ),
  },
  { additionalProperties: false },
);
type ExportQuery = FilterQuery & { format: ExportFormat; max?: string; name?: string };

const text = (description: string) => Type.Unsafe<Readable>({ type: 'string', description });

/** The matching records as a file for a firewall, proxy or CDN: streamed, and refused (413) before its first byte when too large. */
export const exportRoutes: FastifyPluginAsyncTypebox<{ store: Store; maxRecords: number }> = async (app, { store, maxRecords }) => {
  app.get(
    '/feed/v1/export',
    {
      schema: {
        summary: 'The records matching every given label and inside a prefix, as a file for an enforcer',
        description:
          'The filters of `GET /feed/v1/ips`. `txt`: one address or CIDR a line, the fewest CIDRs covering exactly the ' +
          'matching records (IPv4 as dotted quads); `ipset`: an `ipset restore` file of the same CIDRs, one hash:net set per ' +
          'family; `nft`: an `nft -f` file of the same CIDRs, two interval sets replaced in one transaction; `csv`, `ndjson`: ' +
          'the list items of `GET /feed/v1/ips`; `mmdb`: a MaxMind DB file whose networks carry what `GET /feed/v1/ip/{ip}` ' +
          "answers for their addresses. More matching records than `max` or the server's limit " +
          `(${maxRecords.toLocaleString('en-US')}) answer 413 naming the count, before anything is sent. ETag per data ` +
          `version and query: If-None-Match answers 304. At most ${LABEL_FILTERS_MAX} distinct label values in all.`,
        tags: ['ipoid'],
        querystring: ExportQuery,
        response: {
          200: {
            description: 'The file, streamed (Content-Disposition names it)',
            content: {
              'text/plain': { schema: text('txt, ipset or nft: one address or CIDR, or one statement, a line') },
              'text/csv': { schema: text('a header row, then one row per list item') },
              'application/x-ndjson': { schema: text('one list item per line') },
              'application/vnd.maxmind.com-maxmind-db': {
                schema: Type.Unsafe<Readable>({ type: 'string', format: 'binary', description: 'a MaxMind DB file' }),
              },
            },
          },
          304: { description: 'Not modified: the If-None-Match ETag is the current one', type: 'null' },
          ...errorResponses(400, 401, 413, 503),
        },
      },
    },
    async (request, reply) => {
      const query = request.query as ExportQuery;
      const filter = { labels: labelFilters(query), within: prefix(query.prefix) };
      const asked = query.max === undefined ? Infinity : Number(query.max);
      const { count, records } = await limitedRecords(store, filter, {
        limit: Math.min(asked, maxRecords),
        source: asked < maxRecords ? `max=${asked}` : `the server's IPOID_EXPORT_MAX_RECORDS`,
        countUpTo: maxRecords + 1,
      });
      // The data's time (conditionalAnswers set it), so that the same data makes the same mmdb file.
      const modified = reply.getHeader('last-modified');
      const builtAt = typeof modified === 'string' ? new Date(modified) : new Date();
      const body = await started(exportFile(records, query.format, { setName: query.name ?? DEFAULT_SET_NAME, records: count, builtAt }));
      const { contentType, fileName } = EXPORT_MEDIA[query.format];
      return reply.type(contentType).header('content-disposition', `attachment; filename="${fileName}"`).send(Readable.from(body));
    },
  );
};
