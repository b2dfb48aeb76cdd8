import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FeedReadError } from '../../src/feed/bytes.ts';
import {
  isTooLong,
  lineCount,
  lineHash,
  LINE_HASH_BYTES,
  rawLine,
  readHashedLines,
  type HashedLines,
} from '../../src/feed/hashed-lines.ts';
import type { RawLine } from '../../src/feed/lines.ts';
import { readRawLines } from '../../src/feed/reader.ts';
import { BAD_LINES, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { chunked, unreadableFeeds } from '../helpers/read-feed.ts';

/*
 * A diff reads its feed as hashed lines (feed/hashed-lines.ts), on a worker thread for a large
 * file. Whatever the feed and wherever it is read, the lines must be readRawLines' lines, each
 * with the hash of its bytes, and a feed that cannot be read must fail as it does.
 */

const described = (raw: RawLine) => ({ ...raw, bytes: 'bytes' in raw ? raw.bytes.toString('latin1') : undefined });

async function rawLines(input: Readable, maxLineBytes?: number): Promise<ReturnType<typeof described>[]> {
  const lines = [];
  for await (const raw of readRawLines(input, maxLineBytes)) lines.push(described(raw));
  return lines;
}

/** The lines of the batches, as readRawLines tells them, checking each line's hash on the way. */
function unpacked(batches: HashedLines[]): ReturnType<typeof described>[] {
  return batches.flatMap((lines) =>
    Array.from({ length: lineCount(lines) }, (_, i) => {
      const raw = rawLine(lines, i);
      const hash = Buffer.from(lines.hashes.subarray(i * LINE_HASH_BYTES, (i + 1) * LINE_HASH_BYTES));
      assert.equal(isTooLong(lines, i), 'tooLong' in raw);
      assert.deepEqual(hash, 'bytes' in raw ? Buffer.from(lineHash(raw.bytes), 'hex') : Buffer.alloc(LINE_HASH_BYTES), `line ${raw.line}`);
      return described(raw);
    }),
  );
}

async function hashed(input: Readable, options: { batchLines: number; maxLineBytes?: number; inWorker: boolean }): Promise<HashedLines[]> {
  const batches: HashedLines[] = [];
  for await (const lines of readHashedLines(input, options)) batches.push(lines);
  return batches;
}

/** Lines of every kind: records, blank, CRLF, spaces around, not JSON, over 2,000 bytes, multi-byte. */
function mixedFeed(): Buffer {
  const lines = Array.from({ length: 3000 }, (_, i) => {
    if (i % 501 === 7) return 'not json';
    if (i % 733 === 5) return '';
    if (i % 977 === 3) return `{"ip":"10.1.0.1","organization":"${'x'.repeat(3000)}"}`;
    if (i % 97 === 1) return ` {"ip":"10.2.${i >> 8}.${i & 255}"}\r`;
    return JSON.stringify({ ip: `10.${i >> 8}.${i & 255}.1`, location: { city: i % 2 ? 'Zürich' : 'Kraków' } });
  });
  return Buffer.from(`${lines.join('\n')}\n`);
}

for (const inWorker of [false, true]) {
  const where = inWorker ? 'on a worker' : 'in one thread';

  test(`hashed ${where}: the fixtures and a mixed feed in tiny gzip chunks read as readRawLines reads them`, async () => {
    for (const file of [SAMPLE_FEED, BAD_LINES]) {
      const expected = await rawLines(createReadStream(file));
      for (const batchLines of [1, 3, 2000]) {
        const batches = await hashed(createReadStream(file), { batchLines, inWorker });
        assert.deepEqual(unpacked(batches), expected, `${file}, batches of ${batchLines}`);
        assert.ok(batches.every((lines) => lineCount(lines) <= batchLines));
      }
    }
    const text = mixedFeed();
    const expected = await rawLines(chunked(gzipSync(text), 4096), 2000);
    assert.ok(expected.some((raw) => 'tooLong' in raw));
    const batches = await hashed(chunked(gzipSync(text), 64), { batchLines: 100, maxLineBytes: 2000, inWorker });
    assert.deepEqual(unpacked(batches), expected);
    assert.equal(batches.length, 30);
  });

  test(`hashed ${where}: a last line without its newline is told so`, async () => {
    const batches = await hashed(Readable.from(['{"ip":"10.0.0.1"}\n{"ip":"10.0.0.2"}']), { batchLines: 1, inWorker });
    assert.deepEqual(unpacked(batches), await rawLines(Readable.from(['{"ip":"10.0.0.1"}\n{"ip":"10.0.0.2"}'])));
    assert.deepEqual(
      batches.map((lines) => lines.unterminated),
      [false, true],
    );
  });

  test(`hashed ${where}: a feed that cannot be read to its end fails as readRawLines does, after the lines before the failure`, async () => {
    for (const source of unreadableFeeds()) {
      const before: ReturnType<typeof described>[] = [];
      const expected = await (async () => {
        for await (const raw of readRawLines(source())) before.push(described(raw));
      })().then(
        () => assert.fail('readRawLines read it'),
        (err: unknown) => err as Error,
      );
      assert.ok(expected instanceof FeedReadError);
      const batches: HashedLines[] = [];
      await assert.rejects(
        (async () => {
          for await (const batch of readHashedLines(source(), { batchLines: 1000, inWorker })) batches.push(batch);
        })(),
        (err: unknown) => {
          assert.ok(err instanceof FeedReadError);
          assert.equal(err.message, expected.message);
          return true;
        },
      );
      assert.deepEqual(unpacked(batches), before, expected.message);
    }
  });

  test(`hashed ${where}: a reader that stops early releases the source`, async () => {
    const source = chunked(gzipSync(mixedFeed()), 512);
    let batches = 0;
    for await (const lines of readHashedLines(source, { batchLines: 10, inWorker })) {
      assert.equal(lineCount(lines), 10);
      if (++batches === 2) break;
    }
    assert.ok(source.destroyed);
  });
}

test('hashing off: the same lines, no hashes (a first load read in one thread matches nothing)', async () => {
  const batches: HashedLines[] = [];
  for await (const lines of readHashedLines(createReadStream(SAMPLE_FEED), { batchLines: 4, inWorker: false, hash: false }))
    batches.push(lines);
  assert.ok(batches.every((lines) => lines.hashes.every((byte) => byte === 0)));
  assert.equal(
    batches.reduce((sum, lines) => sum + lineCount(lines), 0),
    (await rawLines(createReadStream(SAMPLE_FEED))).length,
  );
});
