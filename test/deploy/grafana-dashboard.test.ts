import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { importFeed } from '../../src/import/importer.ts';
import { quietLogger, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { request, serve } from '../helpers/http.ts';
import { exposedSeriesNames, metricNames } from '../helpers/promql.ts';
import { freshStore, STORE_TARGETS } from '../helpers/stores.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'ipoid-dashboard.json');
/** The chart's copy: Helm reads files inside the chart only (deploy/README.md, "Grafana"). */
const CHART_COPY = join(ROOT, 'deploy', 'helm', 'ipoid', 'dashboards', 'ipoid-dashboard.json');

interface Panel {
  title: string;
  datasource?: unknown;
  targets?: { expr: string }[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  /** What Grafana shows of the query. */
  definition?: string;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
  panels: Panel[];
  annotations: { list: { name: string; expr?: string }[] };
  templating: { list: Variable[] };
};

/** The panels' queries (in rows too). */
const panelExpressions = (): { where: string; expr: string }[] =>
  dashboard.panels
    .flatMap((p) => [p, ...(p.panels ?? [])])
    .flatMap((p) => (p.targets ?? []).map(({ expr }) => ({ where: `panel "${p.title}"`, expr })));

/** Every PromQL expression of the dashboard, with where it is: panels' queries, annotations, variables. */
function expressions(): { where: string; expr: string }[] {
  return [
    ...panelExpressions(),
    ...dashboard.annotations.list.flatMap((a) => (a.expr === undefined ? [] : [{ where: `annotation "${a.name}"`, expr: a.expr }])),
    ...dashboard.templating.list.filter((v) => v.type === 'query').map((v) => ({ where: `variable $${v.name}`, expr: variableSelector(v) })),
  ];
}

/** The PromQL in a variable's query: label_values(SELECTOR, label) or query_result(EXPR). */
function variableSelector(variable: Variable): string {
  const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
  assert.equal(variable.definition ?? query, query, `$${variable.name} shows the query it runs`);
  const match = /^label_values\((.+),\s*\w+\)$/.exec(query) ?? /^query_result\((.+)\)$/.exec(query);
  assert.ok(match, `$${variable.name}: a variable query this test does not read: ${query}`);
  return match[1]!;
}

test('the metric names are read as Prometheus reads PromQL', () => {
  const expr = `histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job=~"$job", route!="up"}[$__rate_interval])))
    / on (instance) group_left (version) max without (pod) (build_info offset 5m) > bool 0 or vector(1) unless ignoring (status) up @ start()`;
  assert.deepEqual(metricNames(expr), ['http_request_duration_seconds_bucket', 'build_info', 'up']);
  assert.deepEqual(metricNames('time() - max by (feed) (ipoid_feed_last_import_timestamp_seconds{feed="anonymous"}) * 1000'), [
    'ipoid_feed_last_import_timestamp_seconds',
  ]);
  assert.throws(() => metricNames('rates(http_requests_total[5m])'), /rates\( is no PromQL function/);
  const exposition = [
    '# TYPE d histogram',
    'd_bucket{le="+Inf"} 1',
    '# TYPE s summary',
    '# TYPE c counter',
    'c 1',
    '# TYPE g gauge',
  ].join('\n');
  assert.deepEqual([...exposedSeriesNames(exposition)].sort(), ['c', 'd_bucket', 'd_count', 'd_sum', 'g', 's', 's_count', 's_sum']);
});

test("the chart's copy of the dashboard is the same file", () => {
  assert.ok(
    readFileSync(CHART_COPY).equals(readFileSync(DASHBOARD)),
    `${CHART_COPY} differs from ${DASHBOARD}: copy deploy/grafana/ipoid-dashboard.json over it`,
  );
});

test('every query reads the data source the ${datasource} variable picks', () => {
  const refs: unknown[] = [];
  JSON.stringify(dashboard, (key, value: unknown) => {
    if (key === 'datasource') refs.push(value);
    return value;
  });
  const builtIn = { type: 'grafana', uid: '-- Grafana --' };
  const others = refs.filter((r) => JSON.stringify(r) !== JSON.stringify({ type: 'prometheus', uid: '${datasource}' }));
  assert.deepEqual(others, [builtIn], 'only the built-in annotations use another');
  assert.ok(refs.length > expressions().length);
  const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
  assert.deepEqual([variable?.type, variable?.query], ['datasource', 'prometheus']);
});

test('no panel counts a 404, the answer for an address not in the data, as an error', () => {
  for (const { where, expr } of expressions()) {
    for (const [, matcher] of expr.matchAll(/status=~"([^"]*)"/g)) {
      if (new RegExp(`^(?:${matcher})$`).test('404')) assert.match(expr, /status!="404"/, `${where}: ${expr}`);
    }
  }
});

let app: FastifyInstance;
let base: string;
let closeStore: () => Promise<void>;
before(async () => {
  const sqlite = STORE_TARGETS.find((t) => t.name === 'sqlite')!;
  const fresh = await freshStore(sqlite);
  closeStore = fresh.close;
  await importFeed(fresh.store, SAMPLE_FEED, { feed: 'anonymous', feedDate: '2026-11-24', logger: quietLogger });
  ({ app, base } = await serve(fresh.store, [], { lookupIndex: 'memory' }));
});
after(async () => {
  await app.close();
  await closeStore();
});

test('every metric the dashboard queries is one /metrics exports, and it shows every IPoid metric', async () => {
  assert.equal((await request(`${base}/feed/v1/ip/1.1.1.1`)).status, 200);
  assert.equal((await request(`${base}/feed/v1/ip/8.8.8.8`)).status, 404);
  const exposition = (await request(`${base}/metrics`)).text;
  const exported = exposedSeriesNames(exposition);
  // The declared names are the series /metrics gives (histograms by their suffixes).
  for (const [, sample] of exposition.matchAll(/^([A-Za-z_:][\w:]*)[{ ]/gm)) assert.ok(exported.has(sample!), sample);
  assert.ok(exported.has('http_request_duration_seconds_bucket') && !exported.has('http_request_duration_seconds'));

  for (const { where, expr } of expressions()) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `${where} queries no metric: ${expr}`);
    for (const name of names) assert.ok(exported.has(name), `${where} queries ${name}, which /metrics does not export`);
  }
  const shown = new Set(panelExpressions().flatMap(({ expr }) => metricNames(expr)));
  const asked = ['http_requests_total', 'http_request_duration_seconds_bucket', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes'];
  const ipoid = [...exported].filter((name) => name.startsWith('ipoid_'));
  assert.ok(ipoid.length >= 10, ipoid.join());
  for (const name of [...asked, ...ipoid]) assert.ok(shown.has(name), `no panel shows ${name}`);
});
