import type { IndexHolder, IndexState } from '../../lookup/index-holder.ts';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { feedAgeSeconds, feedRecords, feedSummary } from '../../store/feed-status.ts';
import type { FeedStatus, Store } from '../../store/types.ts';
import { errorBody } from '../errors.ts';
import { errorResponses, Health, Info, Ready } from '../schemas.ts';
import { VERSION } from '../../version.ts';

// Health routes answer without a token: probes and monitoring don't carry one, and none of
// them reveals stored data (/_info shows only feed dates and import counts).
const open = { open: true };

/** Why the API should not take traffic, or null when it may. */
function notReadyReason(statuses: FeedStatus[], maxAgeSeconds: number | null, now: Date): string | null {
  const holding = statuses.filter((s) => feedRecords(s) > 0);
  if (holding.length === 0) return 'no feed data: nothing imported yet, or all of it expired';
  if (maxAgeSeconds === null) return null;
  // A realtime slot counts as fresh data.
  const stale = holding.filter((s) => feedAgeSeconds(s, now) > maxAgeSeconds);
  if (stale.length === 0) return null;
  const hours = (seconds: number) => (seconds / 3600).toFixed(1);
  return `stale data: ${stale.map((s) => `${s.feed} is ${hours(feedAgeSeconds(s, now))} h old`).join(', ')} (limit ${hours(maxAgeSeconds)} h)`;
}

/** Refused imports: the data served is still valid (the previous file's), but a person must look. */
function refusalWarnings(statuses: FeedStatus[]): string[] {
  return statuses.flatMap(({ feed, lastRefused: run }) =>
    run ? [`${feed}: import of ${run.feedDate ?? 'its latest file'} refused: ${run.error ?? ''}`] : [],
  );
}

function indexSummary({ records, patchedRecords, bytes, builtAt, buildSeconds, building, failedAt }: IndexState) {
  return {
    records,
    patchedRecords,
    bytes,
    builtAt: builtAt?.toISOString() ?? null,
    buildSeconds,
    building,
    failedAt: failedAt?.toISOString() ?? null,
  };
}

export const healthRoutes: FastifyPluginAsyncTypebox<{
  store: Store;
  readyMaxAgeSeconds: number | null;
  index: IndexHolder | undefined;
}> = async (app, { store, readyMaxAgeSeconds, index }) => {
  app.get(
    '/healthz',
    { config: open, schema: { summary: 'The process is up', tags: ['health'], response: { 200: Health } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: open,
      schema: {
        summary: 'Ready to answer: the database answers, a feed holds data, and none is older than IPOID_READY_MAX_AGE_HOURS',
        tags: ['health'],
        response: { 200: Ready, ...errorResponses(503) },
      },
    },
    async (_request, reply) => {
      const statuses = await store.feedStatus();
      const reason = notReadyReason(statuses, readyMaxAgeSeconds, new Date());
      if (reason) return reply.code(503).send(errorBody(503, reason));
      // A refusal leaves yesterday's valid data in place: turning every replica unready for it
      // would empty the Service, so it is a warning here (and a metric to alert on).
      const warnings = refusalWarnings(statuses);
      return warnings.length ? { status: 'ready' as const, warnings } : { status: 'ready' as const };
    },
  );

  app.get(
    '/_info',
    {
      config: open,
      schema: {
        summary: "Name, version and the data's feed dates and last imports",
        tags: ['health'],
        response: { 200: Info, ...errorResponses(503) },
      },
    },
    async () => ({
      name: 'ipoid' as const,
      version: VERSION,
      store: store.kind,
      staleAfterSeconds: readyMaxAgeSeconds,
      historyDays: store.historyDays,
      feeds: (await store.feedStatus()).map((status) => feedSummary(status)),
      lookupIndex: index ? indexSummary(index.state) : null,
    }),
  );
};
