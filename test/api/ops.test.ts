import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { importFeed } from '../../src/import/importer.ts';
import { openStore } from '../../src/store/open.ts';
import { DEFAULT_HISTORY_DAYS } from '../../src/store/types.ts';
import { quietLogger, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { forEachStore } from '../helpers/stores.ts';
import { assertError, request, serve, startApi, type TestApi } from '../helpers/http.ts';

const DATA_ROUTES: [method: string, path: string, body?: unknown][] = [
  ['GET', '/feed/v1/ip/1.1.1.1'],
  ['POST', '/feed/v1/ips', { ips: ['1.1.1.1'] }],
  ['GET', '/feed/v1/ips'],
  ['GET', '/feed/v1/export?format=txt'],
  ['GET', '/feed/v1/labels'],
  ['GET', '/feed/v1/imports'],
  ['GET', '/feed/v1/prefixes'],
  ['GET', '/v2/context/1.1.1.1'],
  ['POST', '/v2/context', { ips: ['1.1.1.1'] }],
  ['POST', '/ipoid/_search', { query: { term: { ip: '1.1.1.1' } } }],
];
const OPEN_ROUTES = ['/healthz', '/readyz', '/_info', '/metrics', '/openapi.json'];

/** The value of one sample in Prometheus text, or undefined. */
function sample(metrics: string, name: string, labels: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

forEachStore((target) => {
  describe('before and after the first import', () => {
    let api: TestApi;
    before(async () => {
      api = await startApi(target, { feed: null });
    });
    after(async () => api.close());

    test('healthz is always up; readyz waits for an import; _info tells the feeds', async () => {
      assert.deepEqual((await request(`${api.base}/healthz`)).json, { status: 'ok' });
      assertError(await request(`${api.base}/readyz`), 503, /no feed data: nothing imported yet/);
      const empty = (await request(`${api.base}/_info`)).json;
      assert.ok(empty.feeds.every((f: { lastImport: unknown }) => f.lastImport === null));

      const started = Date.now();
      await importFeed(api.store, SAMPLE_FEED, { feed: 'anonymous', feedDate: '2026-11-24', logger: quietLogger });
      const ready = await request(`${api.base}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.json, { status: 'ready' });
      const info = (await request(`${api.base}/_info`)).json;
      assert.equal(info.name, 'ipoid');
      assert.match(info.version, /^\d+\.\d+\.\d+/);
      assert.equal(info.store, target.name);
      assert.equal(info.historyDays, DEFAULT_HISTORY_DAYS);
      const anonymous = info.feeds.find((f: { feed: string }) => f.feed === 'anonymous');
      assert.equal(anonymous.feedDate, '2026-11-24');
      assert.deepEqual(
        { ...anonymous.lastImport, finishedAt: undefined },
        { finishedAt: undefined, inserted: 10, updated: 0, deleted: 0, records: 10 },
      );
      assert.ok(Math.abs(Date.parse(anonymous.lastImport.finishedAt) - started) < 5000);
      // Age counts from the feed's generation day, not from the import.
      assert.ok(Math.abs(anonymous.ageSeconds - (Date.now() - Date.parse('2026-11-24T00:00:00Z')) / 1000) < 5);
    });

    test('readyz refuses data older than the configured limit, naming the feed', async () => {
      const strict = await serve(api.store, [], { readyMaxAgeSeconds: 3600 });
      const lenient = await serve(api.store, [], { readyMaxAgeSeconds: 10 * 365 * 86400 });
      try {
        assertError(await request(`${strict.base}/readyz`), 503, /^stale data: anonymous is [\d.]+ h old \(limit 1\.0 h\)$/);
        assert.equal((await request(`${lenient.base}/readyz`)).status, 200);
      } finally {
        await strict.app.close();
        await lenient.app.close();
      }
    });
  });

  describe('metrics and the API description', () => {
    let api: TestApi;
    before(async () => {
      api = await startApi(target);
    });
    after(async () => api.close());

    test('metrics count requests per route pattern and tell the feeds', async () => {
      const before = (await request(`${api.base}/metrics`)).text;
      const count = (text: string, route: string, status: number) =>
        sample(text, 'http_requests_total', `method="GET",route="${route}",status="${status}"`) ?? 0;
      for (const ip of ['1.1.1.1', '203.0.113.7', '8.8.8.8']) await request(`${api.base}/feed/v1/ip/${ip}`);
      await request(`${api.base}/nowhere`);
      const metrics = await request(`${api.base}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
      const text = metrics.text;
      assert.equal(count(text, '/feed/v1/ip/:ip', 200) - count(before, '/feed/v1/ip/:ip', 200), 2);
      assert.equal(count(text, '/feed/v1/ip/:ip', 404) - count(before, '/feed/v1/ip/:ip', 404), 1);
      assert.equal(count(text, 'unmatched', 404), 1);
      assert.ok(!text.includes('1.1.1.1'), 'the route pattern, never the address');
      assert.ok((sample(text, 'http_request_duration_seconds_count', 'route="/feed/v1/ip/:ip"') ?? 0) >= 3);
      assert.match(text, /http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/feed\/v1\/ip\/:ip"\}/);
      assert.equal(sample(text, 'ipoid_feed_records', 'feed="anonymous"'), 10);
      assert.equal(sample(text, 'ipoid_feed_last_import_changes', 'feed="anonymous",change="inserted"'), 10);
      assert.equal(sample(text, 'ipoid_feed_last_import_changes', 'feed="anonymous",change="deleted"'), 0);
      const lastImport = sample(text, 'ipoid_feed_last_import_timestamp_seconds', 'feed="anonymous"') ?? 0;
      assert.ok(Math.abs(lastImport - Date.now() / 1000) < 60);
      assert.equal(sample(text, 'ipoid_feed_records', 'feed="anonymous-residential"'), undefined, 'never-imported feeds have no sample');
      assert.match(text, /^process_resident_memory_bytes \d+/m);
    });

    test("a feed's import duration and age: its last successful run's start to commit, and from its feed date", async () => {
      // A run recorded through the store, 95 s long: real imports of the fixtures end within the second they began.
      const finishedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const feedDate = new Date(finishedAt.getTime() - 3 * 86_400_000).toISOString().slice(0, 10);
      const tx = await api.store.beginImport('anonymous-ipv6');
      await tx.commit({
        feed: 'anonymous-ipv6',
        kind: 'full',
        slot: null,
        feedDate,
        dataDate: feedDate,
        file: null,
        startedAt: new Date(finishedAt.getTime() - 95_000),
        finishedAt,
        linesRead: 0,
        skipped: 0,
        inserted: 0,
        updated: 0,
        deleted: 0,
        records: 0,
        status: 'succeeded',
        error: null,
        skippedSample: [],
      });
      const fresh = await serve(api.store); // a new server: no cached feed status
      try {
        const text = (await request(`${fresh.base}/metrics`)).text;
        assert.equal(sample(text, 'ipoid_feed_last_import_duration_seconds', 'feed="anonymous-ipv6"'), 95);
        const age = sample(text, 'ipoid_feed_age_seconds', 'feed="anonymous-ipv6"') ?? 0;
        const sinceFeedDate = (Date.now() - Date.parse(`${feedDate}T00:00:00Z`)) / 1000;
        assert.ok(age <= sinceFeedDate && age > sinceFeedDate - 60, `age ${age}, not ${sinceFeedDate}`);
        assert.equal(sample(text, 'ipoid_feed_age_seconds', 'feed="anonymous-residential"'), undefined, 'never-imported feeds have no age');
      } finally {
        await fresh.app.close();
      }
    });

    test('openapi.json describes every route with its schemas', async () => {
      const doc = (await request(`${api.base}/openapi.json`)).json;
      assert.match(doc.openapi, /^3\./);
      assert.deepEqual(
        Object.entries(doc.paths as Record<string, object>)
          .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
          .sort(),
        [
          'GET /_info',
          'GET /feed/v1/changes',
          'GET /feed/v1/export',
          'GET /feed/v1/imports',
          'GET /feed/v1/ip/{ip}',
          'GET /feed/v1/ip/{ip}/history',
          'GET /feed/v1/ips',
          'GET /feed/v1/labels',
          'GET /feed/v1/prefixes',
          'GET /healthz',
          'GET /metrics',
          'GET /openapi.json',
          'GET /readyz',
          'GET /v2/context/{ip}',
          'POST /feed/v1/ips',
          'POST /ipoid/_search',
          'POST /v2/context',
        ],
      );
      assert.deepEqual(Object.keys(doc.components.schemas).sort(), ['Error', 'IpoidRecord', 'SpurContext']);
      const lookup = doc.paths['/feed/v1/ip/{ip}'].get;
      assert.deepEqual(Object.keys(lookup.responses).sort(), ['200', '400', '401', '404', '503']);
      assert.deepEqual(doc.paths['/feed/v1/ips'].get.parameters.map((p: { name: string }) => p.name).sort(), [
        'behavior',
        'country',
        'cursor',
        'format',
        'infrastructure',
        'limit',
        'operator',
        'prefix',
        'proxy',
        'risk',
        'service',
        'tunnel_type',
        'type',
      ]);
      assert.equal(doc.paths['/feed/v1/ips'].post.requestBody.content['application/json'].schema.properties.ips.maxItems, 1000);
      assert.deepEqual(Object.keys(doc.paths['/feed/v1/ips'].get.responses['200'].content).sort(), [
        'application/json',
        'application/x-ndjson',
        'text/csv',
      ]);
      assert.deepEqual(doc.components.schemas.IpoidRecord.required.slice(0, 3), ['ip', 'org', 'client_count']);
    });
  });

  describe('bearer tokens', () => {
    let api: TestApi;
    before(async () => {
      api = await startApi(target, { tokens: ['s3cret-token', 'second-token'] });
    });
    after(async () => api.close());
    const call = (method: string, path: string, body: unknown, authorization?: string) =>
      request(`${api.base}${path}`, { method, body, headers: authorization ? { authorization } : {} });

    test('data routes need a valid token; health routes stay open', async () => {
      for (const [method, path, body] of DATA_ROUTES) {
        const missing = await call(method, path, body);
        assertError(missing, 401, /Authorization: Bearer/);
        assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="ipoid"');
        for (const wrong of [
          'Bearer wrong-token',
          'Bearer s3cret-toke',
          'Bearer s3cret-token-and-more',
          'Basic czNjcmV0LXRva2Vu',
          's3cret-token',
          'Bearer',
        ]) {
          const refused = await call(method, path, body, wrong);
          assertError(refused, 401);
          assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer realm="ipoid"/);
        }
        for (const right of ['Bearer s3cret-token', 'bearer second-token']) {
          assert.equal((await call(method, path, body, right)).status, 200, `${method} ${path} with ${right}`);
        }
      }
      for (const path of OPEN_ROUTES) assert.equal((await call('GET', path, undefined)).status, 200, path);
      assertError(await call('GET', '/nowhere', undefined), 401);
      const doc = (await call('GET', '/openapi.json', undefined)).json;
      assert.deepEqual(doc.security, [{ bearer: [] }]);
      assert.deepEqual(doc.paths['/healthz'].get.security, []);
    });
  });

  describe('without tokens', () => {
    let api: TestApi;
    before(async () => {
      api = await startApi(target);
    });
    after(async () => api.close());

    test('every data route is open, whatever Authorization says', async () => {
      for (const [method, path, body] of DATA_ROUTES) {
        assert.equal((await request(`${api.base}${path}`, { method, body })).status, 200, `${method} ${path}`);
        assert.equal((await request(`${api.base}${path}`, { method, body, headers: { authorization: 'Bearer anything' } })).status, 200);
      }
      assert.equal((await request(`${api.base}/openapi.json`)).json.security, undefined);
    });
  });

  describe('when the database fails', () => {
    let api: TestApi;
    let broken: { app: FastifyInstance; base: string };
    before(async () => {
      api = await startApi(target);
      // A second server over its own connection to the same data, closed under it.
      const store = await openStore(api.dbUrl);
      broken = await serve(store);
      await store.close();
    });
    after(async () => {
      await broken.app.close();
      await api.close();
    });

    test("data routes and readyz answer 503 without the driver's message; healthz stays up", async () => {
      for (const [method, path, body] of DATA_ROUTES) {
        assert.equal((await request(`${api.base}${path}`, { method, body })).status, 200, 'the data is there');
        assertError(await request(`${broken.base}${path}`, { method, body }), 503, /^database unavailable$/);
      }
      assertError(await request(`${broken.base}/feed/v1/ips?format=ndjson`), 503, /^database unavailable$/);
      assertError(await request(`${broken.base}/readyz`), 503, /^database unavailable$/);
      assert.equal((await request(`${broken.base}/healthz`)).status, 200);
      assert.equal((await request(`${broken.base}/metrics`)).status, 200);
    });
  });
});
