/*
 * Data for the API benchmark: a database holding the generated feed (imported once, then
 * reused) and a shuffled list of addresses to ask for.
 */
import { join } from 'node:path';
import { addressText, FULL_PREFIX } from '../src/feed/ip.ts';
import { readFeed } from '../src/feed/reader.ts';
import { createRandom } from '../src/generator/random.ts';
import { importFeed } from '../src/import/importer.ts';
import { createLogger } from '../src/log.ts';
import { openStore } from '../src/store/open.ts';
import { OUT } from './feeds.ts';

const MARIADB_URL = process.env.IPOID_BENCH_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/ipoid_bench';
// Seeds the sample of addresses asked for.
const SEED = 42;

/** A database of its own for this benchmark and size (the import benchmark recreates its own). */
export function benchDatabaseUrl(store: string, records: number): string {
  if (store === 'sqlite') return `sqlite:${join(OUT, `api-${records}.db`)}`;
  const url = new URL(MARIADB_URL);
  url.pathname = `${url.pathname}_api_${records}`;
  return url.toString();
}

/** Imports the feed unless the database already holds exactly it (the MariaDB store creates a missing database). */
export async function ensureImported(url: string, feed: string, records: number): Promise<'imported' | 'reused'> {
  const store = await openStore(url);
  try {
    const anonymous = (await store.feedStatus()).find((s) => s.feed === 'anonymous')?.lastImport;
    if (anonymous?.file === feed && anonymous.records === records) return 'reused';
    // Replaces whatever the benchmark database held on purpose: past any change limit.
    await importFeed(store, feed, { feed: 'anonymous', logger: createLogger('warn'), progress: true, force: true });
    return 'imported';
  } finally {
    await store.close();
  }
}

/**
 * `count` addresses in a shuffled order, a `hitRatio` share of them stored (spread over the
 * whole feed; for a network record, an address inside it) and the rest random IPv4
 * addresses that are not.
 */
export async function sampleAddresses(feed: string, records: number, count: number, hitRatio: number): Promise<string[]> {
  const hits: string[] = [];
  const stored = new Set<string>();
  const every = Math.max(1, Math.floor(records / (count * hitRatio)));
  let n = 0;
  for await (const parsed of readFeed(feed)) {
    if (!parsed.ok) continue;
    const { address } = parsed.record;
    stored.add(address.text);
    if (n++ % every !== 0) continue;
    if (address.prefixLen === FULL_PREFIX) {
      hits.push(address.text);
    } else {
      const inside = Buffer.from(address.bytes);
      inside[15] = 1;
      hits.push(addressText(inside));
    }
  }
  // The generator's seeded source: the same list each run.
  const random = createRandom(SEED);
  const octet = () => random.int(0, 255);
  const misses: string[] = [];
  while (misses.length < count - Math.min(hits.length, Math.round(count * hitRatio))) {
    const ip = `${octet()}.${octet()}.${octet()}.${octet()}`;
    if (!stored.has(ip)) misses.push(ip);
  }
  const all = [...hits.slice(0, Math.round(count * hitRatio)), ...misses];
  for (let i = all.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all;
}
