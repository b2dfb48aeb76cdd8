import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ImportRun, Store } from '../../store/types.ts';
import { pageSize } from '../list-params.ts';
import { errorResponses, ImportsPage, ImportsQuery } from '../schemas.ts';

const seconds = (run: ImportRun) => Math.round((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000);

/** The run as listed: what it did and how long it took (the file's path stays with operators). */
function runItem(run: ImportRun) {
  const { file: _file, slot, startedAt, finishedAt, ...rest } = run;
  return {
    ...rest,
    slot: slot?.toISOString() ?? null,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: seconds(run),
  };
}

/** The import runs, newest first: what each full file and realtime slot changed, and why a run failed. */
export const importsRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/feed/v1/imports',
    {
      schema: {
        summary: 'Import runs, newest first, by feed, kind and status',
        description:
          'Every full import and realtime slot is recorded as a run, failed and refused ones included. Pages of `limit` ' +
          'runs; pass "next" back as `before` for older ones. Not cached by version: a failed run changes no data but is listed.',
        tags: ['ipoid'],
        querystring: ImportsQuery,
        response: { 200: ImportsPage, ...errorResponses(400, 401, 503) },
      },
    },
    async (request) => {
      const { feed, kind, status, limit, before } = request.query;
      const size = pageSize(limit);
      const runs = await store.importRuns({ limit: size, feed, kind, status, before: before === undefined ? undefined : Number(before) });
      const last = runs.at(-1);
      return { runs: runs.map(runItem), next: runs.length === size && last ? String(last.id) : null };
    },
  );
};
