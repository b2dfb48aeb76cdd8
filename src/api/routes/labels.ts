import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LABEL_KINDS } from '../../feed/record.ts';
import type { Store } from '../../store/types.ts';
import { cachedPerVersion } from '../cache.ts';
import { errorResponses, LabelsAnswer, PARAM_OF_KIND } from '../schemas.ts';

/** The known label values with their counts, so users can discover what to filter on. */
export const labelsRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  // Counting scans every label row (seconds at millions of records) and only an import
  // changes the counts: count once per set of latest imports.
  const importsVersion = async () => (await store.feedStatus()).map((s) => s.lastImport?.id ?? 0).join(',');
  const labelCounts = cachedPerVersion(importsVersion, () => store.labelCounts());

  app.get(
    '/feed/v1/labels',
    {
      schema: {
        summary: 'Known label values and how many records carry each',
        description: 'Keyed by the /feed/v1/ips filter parameter each label kind is filtered with.',
        tags: ['ipoid'],
        response: { 200: LabelsAnswer, ...errorResponses(401, 503) },
      },
    },
    async () => {
      const answer: Record<string, { value: string; count: number }[]> = {};
      for (const kind of LABEL_KINDS) answer[PARAM_OF_KIND[kind]] = [];
      for (const { kind, value, count } of await labelCounts()) answer[PARAM_OF_KIND[kind]]?.push({ value, count });
      return answer;
    },
  );
};
