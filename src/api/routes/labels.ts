import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LABEL_KINDS } from '../../feed/record.ts';
import type { Store } from '../../store/types.ts';
import { storedVersionTag } from '../../store/feed-status.ts';
import { cachedPerVersion, keyedPerVersion } from '../cache.ts';
import { errorResponses, LabelsAnswer, LabelsQuery, PARAM_OF_KIND } from '../schemas.ts';
import { checkSpan, labelCountsSince } from '../../history/changes.ts';
import { parseFeedDay, type FeedDay } from '../../history/feed-day.ts';

/** Past days whose label counts are kept cached at once (a client's dashboard asks a few). */
const SINCE_DAYS_CACHED = 8;

/** The known label values with their counts, so users can discover what to filter on. */
export const labelsRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  // Counting scans every label row (seconds at millions of records) and only an import
  // changes the counts: count once per set of latest imports.
  const importsVersion = () => storedVersionTag(store);
  const labelCounts = cachedPerVersion(importsVersion, () => store.labelCounts());
  // Reads every key changed since the day: once per set of latest imports and day asked.
  const countsSince = keyedPerVersion(
    importsVersion,
    (day: FeedDay) => labelCountsSince(store, day),
    (day) => day,
    SINCE_DAYS_CACHED,
  );

  app.get(
    '/feed/v1/labels',
    {
      schema: {
        summary: 'Known label values and how many records carry each',
        description:
          'Keyed by the /feed/v1/ips filter parameter each label kind is filtered with. With `since` (a feed day within the ' +
          'kept history), each label also carries its count at the end of that day ("then") and how many records gained ' +
          '("added") and lost ("removed") it since: NORD_VPN +312 −40.',
        tags: ['ipoid'],
        querystring: LabelsQuery,
        response: { 200: LabelsAnswer, ...errorResponses(400, 401, 503) },
      },
    },
    async (request) => {
      const { since } = request.query;
      const answer: Record<string, { value: string; count: number }[]> = {};
      for (const kind of LABEL_KINDS) answer[PARAM_OF_KIND[kind]] = [];
      if (since === undefined) {
        for (const { kind, value, count } of await labelCounts()) answer[PARAM_OF_KIND[kind]]!.push({ value, count });
        return answer;
      }
      const day = parseFeedDay(since, 'since');
      await checkSpan(store, day, undefined);
      for (const { kind, ...counts } of await countsSince(day)) answer[PARAM_OF_KIND[kind]]!.push(counts);
      return answer;
    },
  );
};
