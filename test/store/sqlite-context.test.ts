import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { parseIp } from '../../src/feed/ip.ts';
import { runGenerate } from '../../src/generator/index.ts';
import { importFeed } from '../../src/import/importer.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { freshStore, STORE_TARGETS } from '../helpers/stores.ts';

/*
 * SQLite keeps a record's JSON compressed (sqlite-context-codec.ts): what the store answers
 * is still the feed's own line, byte for byte, and the readable view still reads.
 */
const sqlite = STORE_TARGETS.find((target) => target.name === 'sqlite')!;
const feed = join(tempDir(), 'feed.json.gz');
const nextDay = join(tempDir(), 'next-day.json.gz');
let store: Store;
let url: string;
let close: () => Promise<void>;
let raw: Database.Database;

const linesOf = (path: string): Map<string, string> =>
  new Map(
    gunzipSync(readFileSync(path))
      .toString()
      .trim()
      .split('\n')
      .map((line) => {
        const record = JSON.parse(line) as { ip?: string; network?: string };
        return [record.ip ?? record.network ?? '', line];
      }),
  );

before(async () => {
  await runGenerate({ count: 3000, seed: 11, out: feed });
  await runGenerate({ from: feed, churn: 0.05, seed: 12, out: nextDay });
  ({ store, url, close } = await freshStore(sqlite));
  raw = new Database(url.slice('sqlite:'.length), { readonly: true });
});
after(async () => {
  raw.close();
  await close();
});

/** Every stored record's JSON, by address, as the store answers it. */
async function storedJson(from: Store): Promise<Map<string, string>> {
  const stored = new Map<string, string>();
  await from.scanRecords((row) => stored.set(row.ip_text, row.context));
  return stored;
}

test('a reader opened before the first import reads the records it stored compressed, as the feed spelt them', async () => {
  // Opened on the empty store: the dictionary the import makes is committed after it read the store's.
  const reader = await openStore(url, { readOnly: true });
  try {
    await importFeed(store, feed, { feed: 'anonymous', feedDate: '2026-11-01', logger: quietLogger });
    const lines = [...linesOf(feed)].filter(([ip]) => !ip.includes('/'));
    const [ip, line] = lines[lines.length >> 1]!;
    assert.equal((await reader.lookup(parseIp(ip)))[0]?.json, line);
  } finally {
    await reader.close();
  }
});

test('every record is kept compressed to a fraction of its JSON, against one dictionary of the feed, and read back exactly', async () => {
  const stats = raw
    .prepare<[], { blobs: number; rows: number; stored: number }>(
      "SELECT SUM(typeof(context) = 'blob') AS blobs, COUNT(*) AS rows, SUM(length(context)) AS stored FROM ip_data",
    )
    .get()!;
  assert.equal(stats.blobs, stats.rows);
  const lines = linesOf(feed);
  const stored = await storedJson(store);
  let json = 0;
  assert.equal(stored.size, lines.size);
  for (const [ip, context] of stored) {
    assert.equal(context, lines.get(ip), ip);
    json += Buffer.byteLength(context);
  }
  assert.ok(stats.stored < json / 2, `${stats.stored} bytes stored for ${json} bytes of JSON`);
  assert.equal(raw.prepare('SELECT COUNT(*) FROM context_dictionary').pluck().get(), 1);
});

test("the readable view shows a compressed record's fields from the row's own columns and labels", () => {
  const row = raw
    .prepare<[], Record<string, unknown>>(
      `SELECT ip, organization, as_number, as_organization, infrastructure, location_country, location_city, client_count
         FROM ip_reputation WHERE as_number IS NOT NULL AND location_city IS NOT NULL AND client_count IS NOT NULL LIMIT 1`,
    )
    .get();
  assert.ok(row, 'a record with an AS, a city and clients');
  const record = JSON.parse(linesOf(feed).get(row.ip as string)!) as {
    organization?: string;
    as: { number: number; organization?: string };
    infrastructure?: string;
    location: { city: string; country?: string };
    client: { count: number };
  };
  assert.deepEqual(row, {
    ip: row.ip,
    organization: record.organization ?? null,
    as_number: record.as.number,
    as_organization: record.as.organization ?? null,
    infrastructure: record.infrastructure ?? null,
    location_country: record.location.country ?? null,
    location_city: record.location.city,
    client_count: record.client.count,
  });
});

test("the next day's changed records are compressed with the same dictionary and answer the new day's lines", async () => {
  await importFeed(store, nextDay, { feed: 'anonymous', feedDate: '2026-11-02', logger: quietLogger });
  const lines = linesOf(nextDay);
  const stored = await storedJson(store);
  assert.equal(stored.size, lines.size);
  for (const [ip, line] of lines) assert.equal(stored.get(ip), line, ip);
  assert.equal(raw.prepare('SELECT COUNT(*) FROM context_dictionary').pluck().get(), 1);
  assert.equal(raw.prepare("SELECT COUNT(*) FROM ip_data WHERE typeof(context) <> 'blob'").pluck().get(), 0);
});
