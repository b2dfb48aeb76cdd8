import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { EXIT } from '../../src/errors.ts';
import { runGenerate } from '../../src/generator/index.ts';
import { importFeed } from '../../src/import/importer.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { assertError, request, serve } from '../helpers/http.ts';
import { finished, jsonLines, runCli, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { quietLogger, SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';
import { PrivateMariadb } from '../helpers/private-mariadb.ts';
import { scaled } from '../helpers/scale.ts';
import { storedSnapshot } from '../helpers/snapshot.ts';
import { MARIADB_URL } from '../helpers/stores.ts';

// MediaWiki gives IPoid one second: a failure must answer well within it.
const FAIL_FAST_MS = 1000;
const skip = MARIADB_URL ? false : 'set IPOID_TEST_MARIADB_URL to run (needs mariadbd and mariadb-install-db)';

/** The request's answer and how long it took. */
async function timed(url: string, init: Parameters<typeof request>[1] = {}) {
  const started = performance.now();
  const answer = await request(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { answer, ms: performance.now() - started };
}

/** Retries `attempt` until it succeeds (a restarted server is reconnected with backoff). */
async function eventually<T>(attempt: () => Promise<T>, withinMs: number): Promise<T> {
  const started = performance.now();
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (performance.now() - started > withinMs) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const answers200 = (url: string) => async () => {
  const { answer } = await timed(url);
  assert.equal(answer.status, 200, `${url}: ${answer.text}`);
  return answer;
};

/** The API over a MariaDB server of its own holding the sample feed, for the suite it is called in. */
function apiOverPrivateServer() {
  const api = {} as { db: PrivateMariadb; store: Store; app: FastifyInstance; base: string };
  before(async () => {
    api.db = await PrivateMariadb.create();
    api.store = await openStore(api.db.url('ipoid'));
    await importFeed(api.store, SAMPLE_FEED, { feed: 'anonymous', logger: quietLogger });
    Object.assign(api, await serve(api.store));
  });
  after(async () => {
    await api.app.close();
    await api.store.close();
    await api.db.destroy();
  });
  return api;
}

describe('the database stops while the API serves', { skip }, () => {
  const api = apiOverPrivateServer();

  const ROUTES: [string, string, unknown?][] = [
    ['GET', '/feed/v1/ip/1.1.1.1'],
    ['POST', '/feed/v1/ips', { ips: ['1.1.1.1', '2001:db8::1'] }],
    ['GET', '/feed/v1/ips?risk=TUNNEL'],
    ['GET', '/v2/context/1.1.1.1'],
  ];

  for (const signal of scaled(['SIGKILL', 'SIGTERM'] as const, ['SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGTERM'] as const)) {
    test(`after ${signal}: requests fail fast with 503 and a reason, readyz goes false, and it recovers by itself`, async (t) => {
      assert.equal((await timed(`${api.base}/feed/v1/ip/1.1.1.1`)).answer.status, 200);
      await api.db.stop(signal);

      for (const [method, path, body] of ROUTES) {
        const { answer, ms } = await timed(`${api.base}${path}`, { method, body });
        assertError(answer, 503, /^database unavailable$/);
        assert.ok(ms < FAIL_FAST_MS, `${method} ${path} took ${ms.toFixed(0)} ms`);
      }
      const ready = await timed(`${api.base}/readyz`);
      assertError(ready.answer, 503, /^database unavailable$/);
      assert.equal((await timed(`${api.base}/healthz`)).answer.status, 200, 'the process itself is fine');

      // Many at once fail as fast as one: nothing queues behind a dead server.
      const burst = await Promise.all(Array.from({ length: 50 }, () => timed(`${api.base}/feed/v1/ip/1.1.1.1`)));
      for (const { answer } of burst) assertError(answer, 503);
      const slowest = Math.max(...burst.map((b) => b.ms));
      assert.ok(slowest < FAIL_FAST_MS, `slowest of 50 concurrent requests took ${slowest.toFixed(0)} ms`);

      const restarted = performance.now();
      await api.db.start();
      await eventually(answers200(`${api.base}/readyz`), 10_000);
      t.diagnostic(
        `slowest of 50 concurrent 503s: ${slowest.toFixed(0)} ms; ready again ${(performance.now() - restarted).toFixed(0)} ms after the restart began`,
      );
      const answer = await eventually(answers200(`${api.base}/feed/v1/ip/1.1.1.1`), 1_000);
      assert.ok(answer.json['1.1.1.1'], 'the same data as before');
    });
  }
});

describe('the database hangs while the API serves', { skip }, () => {
  const api = apiOverPrivateServer();

  test('lookups and readyz answer 503 within the deadline instead of hanging, and answer again when it wakes', async (t) => {
    assert.equal((await timed(`${api.base}/feed/v1/ip/1.1.1.1`)).answer.status, 200);
    api.db.freeze();
    try {
      const burst = await Promise.all([
        ...Array.from({ length: 30 }, () => timed(`${api.base}/feed/v1/ip/1.1.1.1`)),
        timed(`${api.base}/feed/v1/ips`, { method: 'POST', body: { ips: ['1.1.1.1', '8.8.8.8'] } }),
        timed(`${api.base}/readyz`),
      ]);
      for (const { answer, ms } of burst) {
        assertError(answer, 503, /^database (unavailable|did not answer within \d+ ms)$/);
        assert.ok(ms < FAIL_FAST_MS, `took ${ms.toFixed(0)} ms`);
      }
      t.diagnostic(`slowest of ${burst.length} concurrent 503s from a frozen server: ${Math.max(...burst.map((b) => b.ms)).toFixed(0)} ms`);
    } finally {
      api.db.resume();
    }
    await eventually(answers200(`${api.base}/feed/v1/ip/1.1.1.1`), 5_000);
    await eventually(answers200(`${api.base}/readyz`), 5_000);
  });
});

describe('the database stops in the middle of an import', { skip }, () => {
  let db: PrivateMariadb;
  let store: Store;
  let dir: string;
  before(async () => {
    db = await PrivateMariadb.create();
    store = await openStore(db.url('ipoid'));
    dir = tempDir();
    await runGenerate({ count: 20_000, seed: 31, out: join(dir, 'day1.json.gz') });
    await runGenerate({ from: join(dir, 'day1.json.gz'), churn: 0.1, seed: 32, out: join(dir, 'day2.json.gz') });
    await importFeed(store, join(dir, 'day1.json.gz'), { feed: 'anonymous', logger: quietLogger });
  });
  after(async () => {
    await store.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    test(`${signal}: the import fails with a clear message, the old data stays, and the next run applies the feed`, async () => {
      const old = await storedSnapshot(store);
      const child = spawnCli(['import', join(dir, 'day2.json.gz')], { IPOID_DB_URL: db.url('ipoid'), IPOID_LOG_LEVEL: 'debug' });
      const done = finished(child);
      await waitForOutput(child, 'import batch applied');
      await db.stop(signal);

      const failed = await done;
      assert.equal(failed.code, EXIT.failed, failed.stderr);
      assert.match(failed.stderr, /^ipoid: import failed, stored data unchanged: .*(ECONNRESET|closed)/m);
      assert.doesNotMatch(failed.stderr, /\n\s+at .*\.[jt]s:\d+/, 'a message, not a stack trace');

      await db.start();
      assert.equal(await eventually(() => storedSnapshot(store), 10_000), old, 'the old data, whole');
      const rerun = await runCli(['import', join(dir, 'day2.json.gz')], { IPOID_DB_URL: db.url('ipoid') });
      assert.equal(rerun.code, EXIT.ok, rerun.stderr);
      const run = jsonLines(rerun.stdout)[0]!;
      assert.equal(run.status, 'succeeded');
      assert.notEqual(await storedSnapshot(store), old);
      // Back to day 1 for the next case.
      await importFeed(store, join(dir, 'day1.json.gz'), { feed: 'anonymous', logger: quietLogger });
    });
  }
});
