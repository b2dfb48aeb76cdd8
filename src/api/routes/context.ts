import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Store } from '../../store/types.ts';
import { BatchBody, BATCH_MAX, ContextBatchAnswer, DtQuery, errorResponses, IpParams, ref, SpurContext } from '../schemas.ts';
import { parseAll } from '../batch-addresses.ts';
import { parseRequestedIp } from '../../feed/ip.ts';
import { parseFeedDay } from '../../history/feed-day.ts';
import { lookupAsOf } from '../../history/as-of.ts';
import { reflects } from '../feed-date.ts';
import { sendStoredJson } from './as-stored.ts';
import { rejectPathsUnder } from './ip-path.ts';
import { lookupAll, notInData } from './lookup.ts';

/** Spur's Context API shape (contract §3), so tools written for Spur can point here. */
export const contextRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/v2/context/:ip',
    {
      schema: {
        summary: 'The Spur IP Context object of an address, as it was in the feed',
        description:
          'For an IPv6 address inside a stored network, the network\'s object (with its "network"). When several feeds ' +
          "hold the address, the first: the address's own record before a network's, then in feed order " +
          "(all of them: POST /ipoid/_search). With `dt` (Spur's historical add-on), the object as the data stood at " +
          'the end of that feed day, and the x-result-dt header (YYYYMMDD) names the feed date it comes from; 404 when ' +
          'the address was not in the data then, 400 for a day outside the kept history.',
        tags: ['spur'],
        params: IpParams,
        querystring: DtQuery,
        response: { 200: ref(SpurContext), ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request, reply) => {
      const { dt } = request.query;
      if (dt !== undefined) {
        const { address, key } = parseRequestedIp(request.params.ip);
        const { found, newestDay } = await lookupAsOf(store, address, parseFeedDay(dt, 'dt'));
        const [first] = found;
        reflects(reply, first?.day ?? newestDay);
        if (!first) return reply.code(404).send(notInData(key));
        return sendStoredJson(reply.header('x-result-dt', String(first.day)), first.record.json);
      }
      const { key, records } = await lookupAll(store, request.params.ip);
      // Spur's object is one feed's record, so it is not merged: the first answers.
      const [first] = records;
      if (!first) return reply.code(404).send(notInData(key));
      return sendStoredJson(reply, first.json);
    },
  );

  app.post(
    '/v2/context',
    {
      schema: {
        summary: `The Spur IP Context objects of up to ${BATCH_MAX} addresses`,
        description:
          'One key per distinct key, as POST /feed/v1/ips answers: the object GET /v2/context/{ip} answers, or null when ' +
          'unknown. Refused whole with 400 when an entry is not an address ("invalid" and "reasons" list them).',
        tags: ['spur'],
        body: BatchBody,
        response: { 200: ContextBatchAnswer, ...errorResponses(400, 401, 503) },
      },
    },
    async (request, reply) => {
      const requested = parseAll(request.body.ips);
      const found = await store.lookupMany([...requested.values()]);
      // Built around the stored text, which is never parsed again (as-stored.ts).
      const entries = [...requested.keys()].map((key, i) => `${JSON.stringify(key)}:${found[i]![0]?.json ?? 'null'}`);
      return sendStoredJson(reply, `{${entries.join(',')}}`);
    },
  );
  rejectPathsUnder(app, '/v2/context/');
};
