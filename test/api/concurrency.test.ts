import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, test } from 'node:test';
import { loadApiConfig } from '../../src/api/config.ts';
import { readFeed } from '../../src/feed/reader.ts';
import { runGenerate } from '../../src/generator/index.ts';
import { importFeed } from '../../src/import/importer.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { serveProcess, type ServerProcess } from '../helpers/serve-process.ts';
import { forEachStore, readOnlyUser, type DatabaseUser, type TestDatabase } from '../helpers/stores.ts';
import { indexBuilt, request, untilNewVersion } from '../helpers/http.ts';
import { content, dayAnswers, type Probe } from '../helpers/two-days.ts';

/*
 * 20 clients at once, each sending a fixed number of requests of the mix MediaWiki and
 * tools send (single lookups, 60-address batches, list pages), to `ipoid serve` in its own
 * process: once on a quiet store, once while imports of the next day's feed and back run
 * in a loop. No answer may be a 5xx, and each must be one whole day's answer.
 */
const RECORDS = 3_000;
const CLIENTS = 20;
const REQUESTS_PER_CLIENT = 20;
const BATCH = 60;
const SAMPLE_EVERY = 10;
// Generous: the CI machine is 2 busy cores running MariaDB, the API and the imports.
const REQUEST_TIMEOUT_MS = 30_000;
// How long the clients go on asking for the imports to switch the days under them.
const SWITCH_DEADLINE_MS = 120_000;

const dir = tempDir();
const day1 = join(dir, 'day1.json.gz');
const day2 = join(dir, 'day2.json.gz');

/** Every tenth address of the two days (a network by its first address), sorted: some only in one day. */
async function sampleAddresses(): Promise<string[]> {
  const keys = new Set<string>();
  for (const file of [day1, day2]) for await (const line of readFeed(file)) if (line.ok) keys.add(line.record.address.text.split('/')[0]!);
  return [...keys].sort().filter((_, i) => i % SAMPLE_EVERY === 0);
}

before(async () => {
  await runGenerate({ count: RECORDS, seed: 51, out: day1 });
  await runGenerate({ from: day1, churn: 0.1, seed: 52, out: day2 });
});

test('IPOID_DB_POOL_SIZE: unset leaves the store its default, a number of connections is taken, anything else refused', () => {
  assert.equal(loadApiConfig({}).dbPoolSize, undefined);
  assert.equal(loadApiConfig({ IPOID_DB_POOL_SIZE: '40' }).dbPoolSize, 40);
  for (const value of ['0', '-1', '2.5', 'many', '1001']) {
    assert.throws(() => loadApiConfig({ IPOID_DB_POOL_SIZE: value }), /^Error: IPOID_DB_POOL_SIZE must be a number of connections/);
  }
});

forEachStore((target) => {
  let db: TestDatabase;
  let store: Store;
  let reader: DatabaseUser;
  let server: ServerProcess;
  let probes: Probe[];
  before(async () => {
    db = await target.createDatabase();
    store = await openStore(db.url);
    const { records } = await importFeed(store, day1, { feed: 'anonymous', logger: quietLogger });
    reader = await readOnlyUser(target, db.url);
    server = await serveProcess({ IPOID_DB_READ_URL: reader.url, IPOID_DB_URL: 'sqlite:/nonexistent/unused.db' });

    const addresses = await sampleAddresses();
    const topRisk = (await request(`${server.url}/feed/v1/labels`)).json.risk[0].value as string;
    probes = [
      ...addresses.map((ip): Probe => ({ method: 'GET', path: `/feed/v1/ip/${ip}` })),
      ...Array.from({ length: Math.floor(addresses.length / BATCH) }, (_, i): Probe => ({
        method: 'POST',
        path: '/feed/v1/ips',
        body: { ips: addresses.slice(i * BATCH, (i + 1) * BATCH) },
      })),
      { method: 'GET', path: `/feed/v1/ips?risk=${topRisk}&limit=100` },
      { method: 'GET', path: `/feed/v1/ips?prefix=${addresses[0]}/8&limit=100` },
    ];
    // Once the lookup index is built (see test/hardening/soak.test.ts).
    await indexBuilt(server.url, records);
    const before = await dayAnswers(probes, ask);
    const version = (await ask(probes[0]!)).headers.get('etag');
    await importFeed(store, day2, { feed: 'anonymous', logger: quietLogger });
    await untilNewVersion(`${server.url}${probes[0]!.path}`, version);
    const after = await dayAnswers(probes, ask);
    for (const [i, p] of probes.entries()) p.expected = [before[i], after[i]];
    const differing = probes.filter((p) => !isDeepStrictEqual(p.expected![0], p.expected![1])).length;
    assert.ok(differing >= 10, `the two days differ for only ${differing} probes`);
  });
  after(async () => {
    await server?.stop();
    await store?.close();
    await reader?.drop();
    await db?.drop();
  });

  const ask = (p: Probe) =>
    request(`${server.url}${p.path}`, { method: p.method, body: p.body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

  /**
   * CLIENTS clients sending REQUESTS_PER_CLIENT requests each, and on while `keepAsking()`: a
   * single lookup, a batch or a list page in turn. `days` collects which day (0 or 1) each
   * answer that differs between the days was.
   */
  async function clients(keepAsking = () => false, days = new Set<number>()): Promise<string[]> {
    const errors: string[] = [];
    const kinds = [
      probes.filter((p) => p.method === 'GET' && p.path.startsWith('/feed/v1/ip/')),
      probes.filter((p) => p.method === 'POST'),
      probes.filter((p) => p.path.includes('?')),
    ];
    const mix = [0, 0, 1, 0, 1, 2]; // half single lookups, a third batches, a sixth list pages
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let i = 0; i < REQUESTS_PER_CLIENT || keepAsking(); i++) {
          const choices = kinds[mix[(client + i) % mix.length]!]!;
          const probe = choices[(client * REQUESTS_PER_CLIENT + i) % choices.length]!;
          try {
            const answer = await ask(probe);
            const day = probe.expected!.findIndex((e) => isDeepStrictEqual(e, content(answer)));
            if (answer.status >= 500) errors.push(`${probe.method} ${probe.path}: ${answer.status} ${answer.text.slice(0, 200)}`);
            else if (day === -1) errors.push(`${probe.method} ${probe.path}: neither day's answer: ${answer.text.slice(0, 300)}`);
            else if (!isDeepStrictEqual(probe.expected![0], probe.expected![1])) days.add(day);
          } catch (err) {
            errors.push(`${probe.method} ${probe.path}: ${(err as Error).message}`);
          }
        }
      }),
    );
    return errors;
  }

  test(`${CLIENTS} clients × ${REQUESTS_PER_CLIENT} requests of lookups, batches and list pages: no 5xx, whole answers`, async () => {
    const errors = await clients();
    assert.deepEqual(errors.slice(0, 10), [], `${errors.length} errors`);
  });

  test(`${CLIENTS} clients × ${REQUESTS_PER_CLIENT} requests while imports switch between the two days: no 5xx, each answer one whole day's`, async () => {
    let done = false;
    let imports = 0;
    const importLoop = async () => {
      for (let day = 0; !done; day++) {
        await importFeed(store, day % 2 === 0 ? day1 : day2, { feed: 'anonymous', logger: quietLogger });
        imports++;
      }
    };
    const loop = importLoop();
    // On until two imports have switched the data under the clients and their answers showed both days.
    const days = new Set<number>();
    const deadline = Date.now() + SWITCH_DEADLINE_MS;
    const errors = await clients(() => (imports < 2 || days.size < 2) && Date.now() < deadline, days).finally(() => {
      done = true;
    });
    const importsWhileAsking = imports;
    await loop;
    assert.deepEqual(errors.slice(0, 10), [], `${errors.length} errors`);
    assert.ok(importsWhileAsking >= 2, `${importsWhileAsking} imports ended while the clients were asking`);
    assert.deepEqual([...days].sort(), [0, 1], 'the clients saw the answers of both days');
  });
});
