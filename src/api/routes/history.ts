import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { parseRequestedIp } from '../../feed/ip.ts';
import { addressHistory, type KeyHistory } from '../../history/as-of.ts';
import { dateOfDay } from '../../history/feed-day.ts';
import type { Store } from '../../store/types.ts';
import { reflects } from '../feed-date.ts';
import { errorResponses, IpParams, PARAM_OF_KIND } from '../schemas.ts';
import { sendStoredJson } from './as-stored.ts';
import { notInData } from './lookup.ts';

/** The timeline of one address over the kept history (issue 11). */
export const historyRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/feed/v1/ip/:ip/history',
    {
      schema: {
        summary: "An address's records over the kept history",
        description:
          "For the address's own key and each stored network containing it, in each feed: every record it had, oldest " +
          'first, with the first and last feed date it was in the data ("first" is the window\'s first day when it is ' +
          'older), and per label (kind and value, as the list filters name them) its first_seen and last_seen. "window" ' +
          'is the kept history. 404 when the address was in no feed throughout the window.',
        tags: ['ipoid'],
        params: IpParams,
        response: {
          200: Type.Unsafe({
            type: 'object',
            description: '{"ip", "window": {"from", "to"}, "records": [{"key", "feed", "versions", "labels"}]}',
          }),
          ...errorResponses(400, 401, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const { address, key } = parseRequestedIp(request.params.ip);
      const { window, keys } = await addressHistory(store, address);
      if (keys.length === 0 || window === null) return reply.code(404).send(notInData(key));
      reflects(reply, window.to);
      const records = keys.map(keyJson).join(',');
      const span = JSON.stringify({ from: dateOfDay(window.from), to: dateOfDay(window.to) });
      return sendStoredJson(reply, `{"ip":${JSON.stringify(key)},"window":${span},"records":[${records}]}`);
    },
  );
};

/** A key's history as JSON text: each version's record is its stored JSON, unparsed (big integers stay exact). */
function keyJson(history: KeyHistory): string {
  const versions = history.versions.map(
    (v) => `{"first":"${v.first}","last":"${v.last}","last_updated":${JSON.stringify(v.lastUpdated)},"record":${v.json}}`,
  );
  const labels = history.labels.map(({ kind, value, firstSeen, lastSeen }) => ({
    kind: PARAM_OF_KIND[kind],
    value,
    first_seen: firstSeen,
    last_seen: lastSeen,
  }));
  return `{"key":${JSON.stringify(history.key)},"feed":"${history.feed}","versions":[${versions.join(',')}],"labels":${JSON.stringify(labels)}}`;
}
