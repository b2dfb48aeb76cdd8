import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readFeed } from '../../src/feed/reader.ts';
import { runGenerate } from '../../src/generator/index.ts';
import { importFeed } from '../../src/import/importer.ts';
import { openStore } from '../../src/store/open.ts';
import { indexBuilt, request, untilNewVersion } from '../helpers/http.ts';
import { finished, spawnCli } from '../helpers/cli.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { scaled } from '../helpers/scale.ts';
import { serveProcess, type ServerProcess } from '../helpers/serve-process.ts';
import { forEachStore, readOnlyUser } from '../helpers/stores.ts';
import { content, dayAnswers, type Probe } from '../helpers/two-days.ts';

// `npm test` runs a short soak (clients read while two imports run); `npm run soak` the long one, for a minute.
const IMPORTS = 2;
const SECONDS = scaled(0, 60);
const CONNECTIONS = scaled(10, 50);
const RECORDS = scaled(5_000, 100_000);
const PER_KIND = 50; // sampled addresses per kind of change: unchanged, changed, removed, added
const BATCH = 50;
// The API process's resident memory: its ceiling, and how much it may grow after warming up.
const RSS_LIMIT_MB = 300;
const RSS_GROWTH_MB = 40;

const dir = tempDir();
const day1 = join(dir, 'day1.json.gz');
const day2 = join(dir, 'day2.json.gz');

/** Plain addresses of the two days, sampled by what the second day does to them. */
async function sampleAddresses(): Promise<string[]> {
  const hashes = async (file: string) => {
    const byKey = new Map<string, string>();
    for await (const line of readFeed(file))
      if (line.ok && !line.record.address.text.includes('/')) byKey.set(line.record.address.text, line.record.hash.toString('hex'));
    return byKey;
  };
  const [first, second] = [await hashes(day1), await hashes(day2)];
  const kinds: Record<'unchanged' | 'changed' | 'removed' | 'added', string[]> = { unchanged: [], changed: [], removed: [], added: [] };
  for (const [key, hash] of first) {
    const next = second.get(key);
    const kind = next === undefined ? 'removed' : next === hash ? 'unchanged' : 'changed';
    if (kinds[kind].length < PER_KIND) kinds[kind].push(key);
  }
  for (const key of second.keys()) if (!first.has(key) && kinds.added.length < PER_KIND) kinds.added.push(key);
  for (const [kind, keys] of Object.entries(kinds)) assert.equal(keys.length, PER_KIND, `not enough ${kind} addresses`);
  return Object.values(kinds).flat();
}

before(async () => {
  await runGenerate({ count: RECORDS, seed: 41, out: day1 });
  await runGenerate({ from: day1, churn: 0.1, seed: 42, out: day2 });
});

forEachStore((target) => {
  let server: ServerProcess;
  let cleanup: () => Promise<void>;
  after(async () => {
    await server?.stop();
    await cleanup?.();
  });

  test(`${CONNECTIONS} connections of lookups, lists and batches while at least ${IMPORTS} imports run${SECONDS ? ` for ${SECONDS} s` : ''}: no error, bounded memory, only whole snapshots`, async (t) => {
    const db = await target.createDatabase();
    const dbUrl = db.url;
    const store = await openStore(dbUrl);
    const { records } = await importFeed(store, day1, { feed: 'anonymous', logger: quietLogger });
    const reader = await readOnlyUser(target, dbUrl);
    cleanup = async () => {
      await store.close();
      await reader.drop();
      await db.drop();
    };
    server = await serveProcess({ IPOID_DB_READ_URL: reader.url, IPOID_DB_URL: 'sqlite:/nonexistent/unused.db' });

    // Every probe's answer on day 1 and on day 2: under load, each must be one of the two.
    const addresses = await sampleAddresses();
    const topRisk = (await request(`${server.url}/feed/v1/labels`)).json.risk[0].value as string;
    const probes: Probe[] = [
      ...addresses.map((ip): Probe => ({ method: 'GET', path: `/feed/v1/ip/${ip}` })),
      ...Array.from({ length: addresses.length / BATCH }, (_, i): Probe => ({
        method: 'POST',
        path: '/feed/v1/ips',
        body: { ips: addresses.slice(i * BATCH, (i + 1) * BATCH) },
      })),
      { method: 'GET', path: `/feed/v1/ips?risk=${topRisk}&limit=100` },
      { method: 'GET', path: `/feed/v1/ips?prefix=${addresses[0]}/16&limit=100` },
    ];
    const ask = (p: Probe) => request(`${server.url}${p.path}`, { method: p.method, body: p.body, signal: AbortSignal.timeout(5_000) });
    // Taken once the lookup index is built, which the clients' lookups read: until then lookups
    // read the database, which a loaded machine may answer with a 503 (see dayAnswers).
    await indexBuilt(server.url, records);
    const before = await dayAnswers(probes, ask);
    const version = (await ask(probes[0]!)).headers.get('etag');
    await importFeed(store, day2, { feed: 'anonymous', logger: quietLogger });
    await untilNewVersion(`${server.url}${probes[0]!.path}`, version);
    const after = await dayAnswers(probes, ask);
    for (const [i, p] of probes.entries()) p.expected = [before[i], after[i]];
    const differing = probes.filter((p) => !isDeepStrictEqual(p.expected![0], p.expected![1])).length;
    assert.ok(differing >= PER_KIND * 3, `the two days differ for ${differing} probes`);

    // Clients read for as long as imports run: at least IMPORTS of them, alternating the two
    // days, and (for the long soak) until SECONDS have passed. Nothing depends on how many
    // requests or imports a busy machine manages in that time.
    const deadline = Date.now() + SECONDS * 1000;
    const errors: string[] = [];
    let requests = 0;
    let duringImports = 0;
    let imports = 0;
    let importing = true;
    const rss: number[] = [];

    const importLoop = async () => {
      try {
        for (let day = 0; day < IMPORTS || Date.now() < deadline; day++) {
          const result = await finished(spawnCli(['import', day % 2 === 0 ? day1 : day2], { IPOID_DB_URL: dbUrl }));
          if (result.code !== 0) errors.push(`import exited ${result.code}: ${result.stderr.slice(0, 300)}`);
          else imports++;
        }
      } finally {
        importing = false;
      }
    };
    const client = async () => {
      while (importing) {
        const probe = probes[Math.floor(Math.random() * probes.length)]!;
        requests++;
        try {
          const got = content(await ask(probe));
          if (importing) duringImports++;
          if (!probe.expected!.some((e) => isDeepStrictEqual(e, got)))
            errors.push(`${probe.method} ${probe.path}: neither day's answer: ${JSON.stringify(got).slice(0, 300)}`);
        } catch (err) {
          errors.push(`${probe.method} ${probe.path}: ${(err as Error).message}`);
        }
      }
    };
    const memory = async () => {
      while (importing) {
        const metrics = (await request(`${server.url}/metrics`)).text;
        rss.push(Number(/^process_resident_memory_bytes (\S+)$/m.exec(metrics)?.[1]) / 2 ** 20);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const started = Date.now();
    await Promise.all([importLoop(), memory(), ...Array.from({ length: CONNECTIONS }, client)]);
    const seconds = (Date.now() - started) / 1000;

    const warm = rss[Math.floor(rss.length / 5)]!;
    const peak = Math.max(...rss);
    t.diagnostic(
      `${target.name}: ${requests} requests (${Math.round(requests / seconds)}/s) at ${CONNECTIONS} connections in ${seconds.toFixed(1)} s, ` +
        `${imports} imports of ${RECORDS} records, ${errors.length} errors; API RSS ${warm.toFixed(0)} MB after warm-up, ` +
        `${rss[rss.length - 1]!.toFixed(0)} MB at the end, ${peak.toFixed(0)} MB peak`,
    );
    assert.deepEqual(errors.slice(0, 10), [], `${errors.length} errors`);
    assert.ok(imports >= IMPORTS, `${imports} imports succeeded`);
    assert.ok(duringImports > 0, 'answers came while imports ran');
    assert.ok(peak < RSS_LIMIT_MB, `peak RSS ${peak.toFixed(0)} MB`);
    assert.ok(rss[rss.length - 1]! - warm < RSS_GROWTH_MB, `RSS grew from ${warm.toFixed(0)} to ${rss[rss.length - 1]!.toFixed(0)} MB`);
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
  });
});
