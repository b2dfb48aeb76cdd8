import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Store } from '../../store/types.ts';
import { errorBody } from '../errors.ts';
import { errorResponses, Health, Info, Ready } from '../schemas.ts';
import { VERSION } from '../version.ts';

// Health routes answer without a token: probes and monitoring don't carry one, and none of
// them reveals stored data (/_info shows only feed dates and import counts).
const open = { open: true };

export const healthRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
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
        summary: 'Ready to answer: the database answers and a feed has been imported',
        tags: ['health'],
        response: { 200: Ready, ...errorResponses(503) },
      },
    },
    async (_request, reply) => {
      const statuses = await store.feedStatus();
      if (!statuses.some((s) => s.lastImport)) return reply.code(503).send(errorBody(503, 'no feed has been imported yet'));
      return { status: 'ready' as const };
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
      feeds: (await store.feedStatus()).map(({ feed, lastImport: run }) => ({
        feed,
        feedDate: run?.feedDate ?? null,
        lastImport: run && {
          finishedAt: run.finishedAt.toISOString(),
          inserted: run.inserted,
          updated: run.updated,
          deleted: run.deleted,
          records: run.records,
        },
      })),
    }),
  );
};
