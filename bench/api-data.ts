/*
 * Data for the API benchmark: a database holding the generated feed (imported once, then
 * reused) and a shuffled list of addresses to ask for.
 */
import { addressText, FULL_PREFIX, parseIpOrNetwork, type CanonicalIp } from '../src/feed/ip.ts';
import type { RawLine } from '../src/feed/lines.ts';
import { readRawLines } from '../src/feed/reader.ts';
import { createRandom } from '../src/generator/random.ts';
import { importFeed } from '../src/import/importer.ts';
import { createLogger } from '../src/log.ts';
import { openStore } from '../src/store/open.ts';

// Seeds the sample of addresses asked for.
const SEED = 42;
/** Distinct addresses asked for, and the share of them stored. */
export const SAMPLE_SIZE = 20_000;
export const HIT_RATIO = 0.8;

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

/** A /24 in the 128-bit prefix space (IPv4 mapped into IPv6). */
const IPV4_BLOCK_PREFIX = 96 + 24;

/** IPv4 /24 blocks, one bit each: 2 MiB whatever the feed's size (a Set of 40M addresses would not fit V8). */
class Ipv4Blocks {
  readonly #bits = new Uint8Array(1 << 21);

  /** Marks every /24 the record's address or network touches. */
  add({ family, bytes, prefixLen }: CanonicalIp): void {
    if (family !== 4) return;
    const first = bytes.readUIntBE(12, 3);
    const blocks = 2 ** Math.max(0, IPV4_BLOCK_PREFIX - prefixLen);
    for (let block = first; block < first + blocks; block++) this.#bits[block >>> 3]! |= 1 << (block & 7);
  }

  has(block: number): boolean {
    return (this.#bits[block >>> 3]! & (1 << (block & 7))) !== 0;
  }
}

// A generated line's address, read without parsing the whole record: a 40M-record feed is
// sampled in minutes rather than a quarter of an hour.
const ADDRESS_FIELD = /"(?:ip|network)":"([^"]+)"/;
function addressOf(raw: RawLine): CanonicalIp | undefined {
  if (!('bytes' in raw)) return undefined;
  const text = ADDRESS_FIELD.exec(raw.bytes.toString('latin1'))?.[1];
  try {
    return text === undefined ? undefined : parseIpOrNetwork(text);
  } catch {
    return undefined;
  }
}

/**
 * `count` addresses in a shuffled order, a `hitRatio` share of them stored (spread over the
 * whole feed; for a network record, an address inside it) and the rest random IPv4
 * addresses in /24s that hold no stored address or network, so that no record answers them.
 */
export async function sampleAddresses(feed: string, records: number, count: number, hitRatio: number): Promise<string[]> {
  const wanted = Math.round(count * hitRatio);
  const hits: string[] = [];
  const used = new Ipv4Blocks();
  const every = Math.max(1, Math.floor(records / wanted));
  let n = 0;
  for await (const raw of readRawLines(feed)) {
    const address = addressOf(raw);
    if (address === undefined) continue;
    used.add(address);
    if (n++ % every !== 0 || hits.length === wanted) continue;
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
  const misses: string[] = [];
  while (misses.length < count - hits.length) {
    const ip = random.int(0, 2 ** 32 - 1);
    if (!used.has(ip >>> 8)) misses.push([ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.'));
  }
  const all = [...hits, ...misses];
  for (let i = all.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all;
}
