import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parseIp } from '../../feed/ip.ts';
import type { Store } from '../../store/types.ts';
import { formatValidationError } from '../errors.ts';
import { errorResponses, SearchAnswer, SearchBody } from '../schemas.ts';
import { sendStoredJson } from './as-stored.ts';

const INDEX = 'ipoid';
const SUPPORTED = 'the supported queries are {"query":{"bool":{"filter":[{"term":{"ip":"<ip>"}}]}}} and {"query":{"term":{"ip":"<ip>"}}}';

/** The term query on `ip` that the newer MediaWiki client sends to an OpenSearch backend (contract §2). */
export const searchRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.post(
    `/${INDEX}/_search`,
    {
      // Which branch of the union failed says little: name the shapes that work instead.
      schemaErrorFormatter: (errors, dataVar) =>
        new Error(`unsupported search: ${SUPPORTED} (${formatValidationError(errors, dataVar).message})`),
      schema: {
        summary: 'OpenSearch-style term query on ip',
        description:
          `Only a term query on "ip" is supported: ${SUPPORTED}; any other body is refused with 400. Every record for the ` +
          'address is a hit (one per feed, and a stored network containing it), with the Spur IP Context object as ' +
          '_source; an unknown address answers total 0.',
        tags: ['spur'],
        body: SearchBody,
        response: { 200: SearchAnswer, ...errorResponses(400, 401, 503) },
      },
    },
    async (request, reply) => {
      const records = await store.lookup(parseIp(termIp(request.body)));
      // Each _source is the stored JSON text itself, written into the answer as it is.
      const hits = records.map((r) => `{"_index":${JSON.stringify(INDEX)},"_id":${JSON.stringify(r.key)},"_source":${r.json}}`);
      return sendStoredJson(reply, `{"hits":{"total":{"value":${records.length},"relation":"eq"},"hits":[${hits.join(',')}]}}`);
    },
  );
};

function termIp({ query }: SearchBody): string {
  return 'term' in query ? query.term.ip : query.bool.filter[0]!.term.ip;
}
