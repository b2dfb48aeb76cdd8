import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LABEL_KINDS } from '../../feed/record.ts';
import { storedVersionTag } from '../../store/feed-status.ts';
import type { PrefixDensity, PrefixQuery, Store } from '../../store/types.ts';
import { keyedPerVersion } from '../cache.ts';
import { InputError } from '../../errors.ts';
import { labelFilters, prefix } from '../list-params.ts';
import {
  errorResponses,
  LABEL_FILTERS_MAX,
  MIN_DEFAULT,
  PARAM_OF_KIND,
  PREFIX_LENGTHS,
  PrefixesAnswer,
  PrefixesQuery,
  PREFIXES_DEFAULT,
  PREFIXES_MAX,
} from '../schemas.ts';

/** Distinct queries whose answers are kept at once (an analyst's screen asks a few). */
const QUERIES_CACHED = 32;

/** A digits parameter's value (its schema admits only digits), within bounds, else a 400 naming them. */
function bounded(name: string, text: string | undefined, fallback: number, min: number, max = Infinity): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (value < min || value > max) {
    throw new InputError(`querystring/${name} must be ${max === Infinity ? `at least ${min}` : `from ${min} to ${max}`}`);
  }
  return value;
}

/** The family and prefix length a request asks: `len` for IPv4 (the default, /24), `len6` for IPv6. */
function prefixLength(query: PrefixesQuery): { family: 4 | 6; length: number } {
  if (query.len !== undefined && query.len6 !== undefined) {
    throw new InputError('give len (IPv4 prefixes) or len6 (IPv6 prefixes), not both');
  }
  if (query.len6 !== undefined) return { family: 6, length: bounded('len6', query.len6, 0, PREFIX_LENGTHS[6].min, PREFIX_LENGTHS[6].max) };
  const v4 = PREFIX_LENGTHS[4];
  return { family: 4, length: bounded('len', query.len, v4.default, v4.min, v4.max) };
}

const answerItem = ({ prefix: cidr, count, labels }: PrefixDensity) => {
  const byParam: Record<string, Record<string, number>> = {};
  for (const kind of LABEL_KINDS) byParam[PARAM_OF_KIND[kind]] = {};
  for (const label of labels) byParam[PARAM_OF_KIND[label.kind]]![label.value] = label.count;
  return { prefix: cidr, count, labels: byParam };
};

/** Prefix density: the prefixes holding the most records matching the list filters, with their labels counted. */
export const prefixesRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  // A query groups most of the table (a second or more at millions of records, which SQLite
  // spends on the event loop) and only an import changes its answer: each is kept until then.
  const importsVersion = () => storedVersionTag(store);
  const densest = keyedPerVersion(
    importsVersion,
    (query: PrefixQuery) => store.prefixes(query),
    ({ labels, within, family, length, min, limit }) => JSON.stringify([labels, within?.text, family, length, min, limit]),
    QUERIES_CACHED,
  );
  app.get(
    '/feed/v1/prefixes',
    {
      schema: {
        summary: 'Prefixes holding at least min records matching the filters, with their label counts',
        description:
          'Groups the records that `GET /feed/v1/ips` would list for the same label filters and `prefix` by their IPv4 ' +
          `/len (default /${PREFIX_LENGTHS[4].default}) or, with len6, their IPv6 /len6 prefix. A stored network counts as one record, ` +
          'in the prefix holding its whole range (an IPv6 /64 network counts under len6=48 and 64, not under a longer one). ' +
          'Each prefix holding at least `min` of them comes with its count and, per label kind (keyed by its filter parameter), ' +
          'how many of those records carry each value. Most records first, ties in address order, at most `limit`; ' +
          `"truncated" says whether more qualified. At most ${LABEL_FILTERS_MAX} distinct label values in all.`,
        tags: ['ipoid'],
        querystring: PrefixesQuery,
        response: { 200: PrefixesAnswer, ...errorResponses(400, 401, 503) },
      },
    },
    async (request) => {
      const query = request.query as PrefixesQuery;
      const { family, length } = prefixLength(query);
      const within = prefix(query.prefix);
      if (within && within.family !== family) {
        throw new InputError(`prefix ${within.text} is IPv${within.family}: ask its prefixes with ${within.family === 4 ? 'len' : 'len6'}`);
      }
      const limit = bounded('limit', query.limit, PREFIXES_DEFAULT, 1, PREFIXES_MAX);
      const min = bounded('min', query.min, MIN_DEFAULT, 1);
      // One more than asked tells whether the answer was cut.
      const found = await densest({ labels: labelFilters(query), within, family, length, min, limit: limit + 1 });
      return { prefixes: found.slice(0, limit).map(answerItem), truncated: found.length > limit };
    },
  );
};
