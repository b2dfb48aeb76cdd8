import type { FastifyInstance } from 'fastify';
import type { IndexHolder, IndexState } from '../lookup/index-holder.ts';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FeedStatus, ImportRun, Store } from '../store/types.ts';
import { cached } from './cache.ts';
import { feedAgeSeconds, feedRecords, realtimeLagSeconds } from '../store/feed-status.ts';

// Scrapes read the feeds' status at most this often, whatever the number of scrapers.
const FEED_STATUS_TTL_MS = 5000;
// Lookups answer in well under a millisecond; pages and streams take far longer.
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Prometheus metrics on their own registry (several servers may share a process): requests
 * and latency per route pattern (never the raw URL, which would be a label per IP), the
 * feeds' last imports and record counts, and the default process metrics. Served at /metrics.
 */
export function registerMetrics(app: FastifyInstance, store: Store, index: IndexHolder | undefined): void {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its answer, by route pattern',
    labelNames: ['method', 'route'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: reply.statusCode });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });

  if (index) lookupIndexGauges(index, registers);

  const feedStatus = cached(() => store.feedStatus(), FEED_STATUS_TTL_MS);
  const statusGauge = (name: string, help: string, labelNames: string[], set: (gauge: Gauge, status: FeedStatus) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        const statuses = await feedStatus().catch((err: unknown) => {
          app.log.warn({ err }, "metrics: could not read the feeds' status");
          return [];
        });
        for (const status of statuses) set(this, status);
      },
    });
  /** A gauge of each feed's latest successful import; a feed never imported has none. */
  const feedGauge = (name: string, help: string, labelNames: string[], set: (gauge: Gauge, feed: string, run: ImportRun) => void) =>
    statusGauge(name, help, labelNames, (gauge, { feed, lastImport }) => {
      if (lastImport) set(gauge, feed, lastImport);
    });
  feedGauge('ipoid_feed_last_import_timestamp_seconds', 'When the last successful import of the feed finished', ['feed'], (g, feed, run) =>
    g.set({ feed }, run.finishedAt.getTime() / 1000),
  );
  feedGauge(
    'ipoid_feed_last_import_duration_seconds',
    'How long the last successful import of the feed took, from its start to its commit',
    ['feed'],
    (g, feed, run) => g.set({ feed }, (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000),
  );
  // The age /readyz and expiry judge (store/feed-status.ts), which the last import's time alone cannot tell.
  statusGauge(
    'ipoid_feed_age_seconds',
    "Age of the feed's data: now minus its newest realtime slot since the full file, else the file's feed date, else when it was imported",
    ['feed'],
    (g, status) => {
      if (status.lastImport) g.set({ feed: status.feed }, feedAgeSeconds(status));
    },
  );
  statusGauge('ipoid_feed_records', 'Records stored for the feed', ['feed'], (g, status) => {
    if (status.lastImport) g.set({ feed: status.feed }, feedRecords(status));
  });
  statusGauge(
    'ipoid_feed_realtime_lag_seconds',
    'Now minus the newest realtime slot ever merged into the feed (ipoid follow); absent for a feed that never had one',
    ['feed'],
    (g, status) => {
      const lag = realtimeLagSeconds(status);
      if (lag !== null) g.set({ feed: status.feed }, lag);
    },
  );
  feedGauge(
    'ipoid_feed_last_import_changes',
    'Records the last successful import inserted, updated and deleted',
    ['feed', 'change'],
    (g, feed, run) => {
      g.set({ feed, change: 'inserted' }, run.inserted);
      g.set({ feed, change: 'updated' }, run.updated);
      g.set({ feed, change: 'deleted' }, run.deleted);
    },
  );
  // What to alert on: the feed's newest file was refused by the change limit and none since
  // succeeded, so its data is not being refreshed until someone looks (and forces it).
  statusGauge(
    'ipoid_feed_import_refused',
    '1 while the latest import of the feed was refused by the change limit (IPOID_MAX_CHANGE_RATIO) and none succeeded since, else 0',
    ['feed'],
    (g, { feed, lastRefused }) => g.set({ feed }, lastRefused ? 1 : 0),
  );

  // In a plugin, so that the route is declared once @fastify/swagger listens for routes.
  app.register(async (scope) => {
    scope.get(
      '/metrics',
      {
        config: { open: true },
        schema: { summary: 'Prometheus metrics', tags: ['health'], produces: ['text/plain'], response: { 200: { type: 'string' } } },
      },
      async (_request, reply) => {
        reply.type(registry.contentType);
        return registry.metrics();
      },
    );
  });
}

function lookupIndexGauges(index: IndexHolder, registers: Registry[]): void {
  const gauge = (name: string, help: string, value: (state: IndexState) => number | null) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const current = value(index.state);
        if (current !== null) this.set(current);
      },
    });
  gauge('ipoid_lookup_index_records', 'Records in the in-memory lookup index', (s) => s.records);
  gauge(
    'ipoid_lookup_index_patched_records',
    "Keys the runs since the lookup index's base (its last whole build or fold) wrote (realtime slots, imports), which patches read",
    (s) => s.patchedRecords,
  );
  gauge('ipoid_lookup_index_bytes', "Memory of the lookup index's arrays", (s) => s.bytes);
  gauge('ipoid_lookup_index_build_seconds', 'How long the last build or patch of the lookup index took', (s) => s.buildSeconds);
  // 0 once a build succeeds again: a failure stays on the gauge only until then.
  gauge(
    'ipoid_lookup_index_build_failed_timestamp_seconds',
    'When the last build failed, if one did since the last that succeeded; else 0',
    (s) => (s.failedAt ? s.failedAt.getTime() / 1000 : 0),
  );
  gauge('ipoid_lookup_index_building', '1 while a build of newer data runs (lookups read the index there is meanwhile)', (s) =>
    Number(s.building),
  );
}
