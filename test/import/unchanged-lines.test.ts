import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseIp } from '../../src/feed/ip.ts';
import { importFeed } from '../../src/import/importer.ts';
import type { Store } from '../../src/store/types.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { storedRecords } from '../helpers/snapshot.ts';
import { forEachStore, freshStore, type StoreTarget } from '../helpers/stores.ts';

/*
 * A day's feed is mostly yesterday's lines byte for byte; the importer matches those by
 * fingerprint without parsing them. Whatever mix of matched and parsed lines a feed holds,
 * the outcome must be the one a full comparison gives: first line wins, duplicates are
 * skipped and named, only what changed is written, what went is deleted.
 */
const dir = tempDir();
let files = 0;
function feed(lines: string[]): string {
  const path = join(dir, `feed-${++files}.jsonl`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const A = '{"ip":"192.0.2.1","risks":["TUNNEL"]}';
const A_CHANGED = '{"ip":"192.0.2.1","risks":["CALLBACK_PROXY"]}';
const B = '{"ip":"192.0.2.2","risks":["TUNNEL"]}';
const C = '{"ip":"192.0.2.3","risks":["TUNNEL"]}';
const NETWORK = '{"network":"198.51.100.0/24","risks":["TUNNEL"]}';
/** A's address spelt otherwise: parsed and rewritten, but the same stored record. */
const A_RESPELT = '{"ip":"::ffff:192.0.2.1","risks":["TUNNEL"]}';

// Each case read in one thread and on a worker (a large file's default), which splits and hashes the lines.
forEachStore((target) => {
  for (const readInWorker of [false, true])
    describe(readInWorker ? 'read on a worker' : 'read in one thread', () => cases(target, readInWorker));
});

function cases(target: StoreTarget, readInWorker: boolean): void {
  let store: Store;
  let close: () => Promise<void>;
  before(async () => ({ store, close } = await freshStore(target)));
  after(() => close());

  const run = (lines: string[]) =>
    importFeed(store, feed(lines), { feed: 'anonymous', logger: quietLogger, maxSkippedRatio: 1, force: true, readInWorker });
  const stored = async () => new Map((await storedRecords(store)).map((r) => [r.key, r.json]));

  test('the same feed again changes nothing, even with blank lines, CRLF and spaces around lines', async () => {
    await run([A, B, NETWORK]);
    const again = await run([`  ${A}\r`, '', B, `${NETWORK}\t`]);
    assert.deepEqual([again.inserted, again.updated, again.deleted, again.skipped], [0, 0, 0, 0]);
    assert.equal(again.records, 3);
  });

  test('a repeated unchanged line is a duplicate of the first, named by line and address', async () => {
    await run([A, B]);
    const result = await run([A, B, A]);
    assert.deepEqual([result.inserted, result.updated, result.deleted, result.skipped], [0, 0, 0, 1]);
    assert.deepEqual(result.skippedSample, [{ line: 3, reason: 'duplicate of line 1 (192.0.2.1)' }]);
  });

  test('an unchanged line then a changed one for the same address: the first wins, the second is a duplicate', async () => {
    await run([A, B]);
    const result = await run([A, B, A_CHANGED]);
    assert.deepEqual([result.inserted, result.updated, result.deleted, result.skipped], [0, 0, 0, 1]);
    assert.deepEqual(result.skippedSample, [{ line: 3, reason: 'duplicate of line 1 (192.0.2.1)' }]);
    assert.equal((await stored()).get('192.0.2.1'), A);
  });

  test('a changed line then the old one for the same address: the change wins, the old line is the duplicate', async () => {
    await run([A, B]);
    const result = await run([A_CHANGED, B, A]);
    assert.deepEqual([result.inserted, result.updated, result.deleted, result.skipped], [0, 1, 0, 1]);
    assert.deepEqual(result.skippedSample, [{ line: 3, reason: 'duplicate of line 1 (192.0.2.1)' }]);
    assert.equal((await stored()).get('192.0.2.1'), A_CHANGED);
  });

  test('a rewritten spelling of a stored record is parsed and found unchanged', async () => {
    await run([A, B]);
    const result = await run([A_RESPELT, B]);
    assert.deepEqual([result.inserted, result.updated, result.deleted, result.skipped], [0, 0, 0, 0]);
  });

  test('changed, added and removed records next to unchanged ones, networks included', async () => {
    await run([A, B, NETWORK]);
    const result = await run([B, A_CHANGED, C]);
    assert.deepEqual([result.inserted, result.updated, result.deleted, result.skipped], [1, 1, 1, 0]);
    assert.deepEqual([...(await stored()).entries()].sort(), [
      ['192.0.2.1', A_CHANGED],
      ['192.0.2.2', B],
      ['192.0.2.3', C],
    ]);
    // The network is gone, and with it its length: a lookup inside it finds nothing.
    const [inside] = await store.lookupMany([parseIp('198.51.100.7')]);
    assert.deepEqual(inside, []);
  });

  test('stored fingerprints read in several chunks: every unchanged line of a large feed is matched', async () => {
    // More records than one chunk (shared-sql.ts fingerprintRanges): a chunk lost or read twice changes the counts.
    const lines = Array.from({ length: 70_000 }, (_, i) => `{"ip":"10.${i >> 16}.${(i >> 8) & 255}.${i & 255}","risks":["TUNNEL"]}`);
    await run(lines);
    const result = await run([...lines.slice(0, 100), '{"ip":"10.0.0.100","risks":["SPAM"]}', ...lines.slice(101, -1)]);
    assert.deepEqual([result.inserted, result.updated, result.deleted, result.skipped], [0, 1, 1, 0]);
    assert.equal(result.records, lines.length - 1);
  });
}
