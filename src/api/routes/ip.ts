import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parseRequestedIp } from '../../feed/ip.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { nameVersion } from '../data-version.ts';
import type { Store } from '../../store/types.ts';
import { parseFeedDay } from '../../history/feed-day.ts';
import { lookupAsOf } from '../../history/as-of.ts';
import { reflects } from '../feed-date.ts';
import { parseAll } from '../batch-addresses.ts';
import { ipoidAnswer, shaped, type ShapedRecord } from '../ipoid-shape.ts';
import type { Lookups } from '../lookups.ts';
import { sendAnswers } from '../answer-json.ts';
import { AtQuery, BatchAnswer, BatchBody, BATCH_MAX, errorResponses, IpAnswer, IpParams, type IpoidRecord } from '../schemas.ts';
import { rejectPathsUnder } from './ip-path.ts';
import { notInData } from './lookup.ts';

/** IPoid's own routes (contract §1): one address, and many in one request. */
export const ipRoutes: FastifyPluginAsyncTypebox<{ store: Store; lookups: Lookups }> = async (app, { store, lookups }) => {
  app.get(
    '/feed/v1/ip/:ip',
    {
      schema: {
        summary: "An address's record in IPoid's shape",
        description:
          'Any valid spelling of the address is accepted. The one key of the answer (and "ip") is the spelling as ' +
          "MediaWiki's IPUtils::prettifyIP gives it, which its client reads the answer under: the dotted quad for an " +
          'IPv4 spelling; for an IPv6 one, lower-case hex words without leading zeros, the longest run of zero words as ' +
          '"::", a dotted tail as two words (so ::FFFF:1.2.3.4 answers 1.2.3.4\'s data as "::ffff:102:304"). An IPv6 ' +
          'address inside a stored network answers that network\'s data, with "network" set. When several feeds hold ' +
          'the address (or the address and a network containing it), they are merged: labels (risks, proxies, ' +
          "behaviors, types, tunnels) are the union of all, single values come from the first (the address's own " +
          'record before a network\'s, then in feed order), last_updated is the latest, and "feeds" lists them. ' +
          '404 when unknown, 400 when not an address. With `at`, the answer as the data stood at the end of that feed ' +
          'day (each feed as its last import on or before it left it), named by the X-IPoid-Feed-Date header; 404 ' +
          'when the address was not in the data then, 400 for a day outside the kept history (the message names the window).',
        tags: ['ipoid'],
        params: IpParams,
        querystring: AtQuery,
        response: { 200: IpAnswer, ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request, reply) => {
      const { at } = request.query;
      const { key, records } = at === undefined ? await lookupNow(request, reply) : await lookupAt(reply, request.params.ip, at);
      if (records.length === 0) return reply.code(404).send(notInData(key));
      return sendAnswers(reply, [[key, ipoidAnswer(records, key)]]);
    },
  );
  rejectPathsUnder(app, '/feed/v1/ip/');

  async function lookupNow(request: FastifyRequest<{ Params: { ip: string } }>, reply: FastifyReply) {
    const { address, key } = parseRequestedIp(request.params.ip);
    const { records, version } = await lookups.lookupMany([address]);
    // The index may have been replaced since the headers named its version.
    if (version) nameVersion(request, reply, version);
    return { key, records: records[0]! };
  }

  /** The address's records as of a past day; the answer names the feed day it reflects. */
  async function lookupAt(reply: FastifyReply, ip: string, at: string): Promise<{ key: string; records: ShapedRecord[] }> {
    const { address, key } = parseRequestedIp(ip);
    const { found, newestDay } = await lookupAsOf(store, address, parseFeedDay(at, 'at'));
    reflects(reply, newestDay);
    return { key, records: found.map((f) => shaped(f.record)) };
  }

  app.post(
    '/feed/v1/ips',
    {
      schema: {
        summary: `Up to ${BATCH_MAX} addresses in one request`,
        description:
          'Answers one key per distinct key of /feed/v1/ip/{ip} (IPUtils::prettifyIP of the spelling: 1.2.3.4 and ' +
          '::ffff:102:304 are two keys with the same data, 2001:DB8::1 and 2001:db8:0::1 one key): ' +
          'its record as /feed/v1/ip/{ip} answers it, or null when unknown. If any entry is not an address, the whole ' +
          'request is refused with 400 and the entries listed in "invalid".',
        tags: ['ipoid'],
        body: BatchBody,
        response: { 200: BatchAnswer, ...errorResponses(400, 401, 503) },
      },
    },
    async (request, reply) => {
      const requested = parseAll(request.body.ips);
      const { records: found, version } = await lookups.lookupMany([...requested.values()]);
      if (version) nameVersion(request, reply, version);
      return sendAnswers(reply, answers([...requested.keys()], found));
    },
  );
};

/** Each key's answer from its records, in the keys' order: null for an address no record holds. */
function* answers(keys: string[], found: ShapedRecord[][]): Generator<[string, IpoidRecord | null]> {
  for (let i = 0; i < keys.length; i++) {
    const records = found[i]!;
    yield [keys[i]!, records.length ? ipoidAnswer(records, keys[i]!) : null];
  }
}
