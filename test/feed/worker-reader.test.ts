import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FeedReadError } from '../../src/feed/bytes.ts';
import type { LoadRecord, ParsedLine, SkippedLine } from '../../src/feed/record.ts';
import { readFeedInWorker, type ParsedBatch } from '../../src/feed/worker-reader.ts';
import { BAD_LINES, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { chunked, readAll, RECORD_LINES, unreadableFeeds } from '../helpers/read-feed.ts';

/*
 * A first load parses its feed on a worker thread (feed/worker-reader.ts). Whatever the feed,
 * it must read what the in-thread reader reads: the same records, skips and errors.
 */

async function readInWorker(input: () => Readable, batchSize: number, maxLineBytes?: number): Promise<ParsedBatch[]> {
  const batches: ParsedBatch[] = [];
  for await (const batch of readFeedInWorker(input(), { batchSize, maxLineBytes })) batches.push(batch);
  return batches;
}

/** A record as a first load stores it (the worker sends no parsed object). */
const loaded = ({ line, address, json, hash, labels, summary }: LoadRecord) => ({
  line,
  address: { ...address, bytes: address.bytes.toString('hex') },
  json,
  hash: hash.toString('hex'),
  labels,
  summary,
});

/** readFeed's lines as the worker's batches tell them: records and skips, in line order. */
const inThread = (parsed: ParsedLine[]) => parsed.map((p) => (p.ok ? loaded(p.record) : p.skip));
const inWorker = (batches: ParsedBatch[]) =>
  batches
    .flatMap((b): (ReturnType<typeof loaded> | SkippedLine)[] => [...b.skips, ...b.records.map(loaded)])
    .sort((a, b) => a.line - b.line);

/** Many lines with labels that first appear late in the feed, valid and not, some over-long. */
function mixedFeed(): string {
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 501 === 7) lines.push('not json');
    else if (i % 733 === 5) lines.push('');
    else if (i % 977 === 3) lines.push(`{"ip":"10.1.0.1","organization":"${'x'.repeat(3000)}"}`);
    else if (i % 641 === 9) lines.push(`{"network":"10.${i >> 8}.0.0/16","risks":["NETWORK"]}`);
    else
      lines.push(
        JSON.stringify({
          ip: i % 3 ? `10.${i >> 8}.${i & 255}.1` : `2001:db8:${i.toString(16)}::1`,
          as: { number: i, organization: `AS ${i % 17}` },
          risks: [`RISK_${Math.floor(i / 400)}`],
          location: i % 5 ? { city: 'Zürich', country: 'CH' } : undefined,
          client: i % 7 ? { count: i % 11 } : undefined,
        }),
      );
  }
  return `${lines.join('\n')}\n`;
}

test('the worker reads the fixtures, records and skipped lines, as the in-thread reader does', async () => {
  for (const file of [SAMPLE_FEED, BAD_LINES]) {
    const expected = inThread(await readAll(file));
    for (const batchSize of [1, 3, 2000]) {
      const batches = await readInWorker(() => createReadStream(file), batchSize);
      assert.deepEqual(inWorker(batches), expected, `${file}, batches of ${batchSize}`);
      assert.ok(batches.every((b) => b.records.length <= batchSize));
    }
  }
});

test('gzip in tiny chunks, labels first seen in late batches, over-long lines: the same lines, in batches', async () => {
  const text = mixedFeed();
  const expected = inThread(await readAll(chunked(gzipSync(text), 4096), 2000));
  assert.ok(expected.some((e) => 'reason' in e && e.reason.startsWith('line longer than 2000 bytes')));
  const batches = await readInWorker(() => chunked(gzipSync(text), 64), 100, 2000);
  assert.deepEqual(inWorker(batches), expected);
  // Each batch holds the records up to its last one and the lines skipped before it; the last batch holds the rest.
  let previous = 0;
  batches.forEach((batch, i) => {
    const last = batch.records.at(-1)?.line ?? Infinity;
    if (i < batches.length - 1) assert.equal(batch.records.length, 100);
    for (const { line } of [...batch.skips, ...batch.records]) assert.ok(line > previous && line <= last, `line ${line} in batch ${i}`);
    previous = last;
  });
  assert.equal(batches.at(-1)!.lines, 3000);
});

test('a feed that cannot be read to its end fails with the in-thread reader’s error', async () => {
  const sources = [...unreadableFeeds(), () => Readable.from([`${RECORD_LINES.join('\n')}\n{"ip":"1.2.3.6","organization":"cut`])];
  for (const source of sources) {
    const inThreadError = await readAll(source()).then(
      () => assert.fail('the in-thread reader read it'),
      (err: unknown) => err as Error,
    );
    assert.ok(inThreadError instanceof FeedReadError);
    await assert.rejects(readInWorker(source, 1000), (err: unknown) => {
      assert.ok(err instanceof FeedReadError);
      assert.equal(err.message, inThreadError.message);
      return true;
    });
  }
});

test('a reader that stops early stops the worker and releases the source', async () => {
  const source = chunked(gzipSync(mixedFeed()), 512);
  let batches = 0;
  for await (const batch of readFeedInWorker(source, { batchSize: 10 })) {
    assert.equal(batch.records.length, 10);
    if (++batches === 2) break;
  }
  assert.equal(batches, 2);
  assert.ok(source.destroyed);
});

test('a record of megabytes, with multi-byte and astral characters, crosses whole', async () => {
  const big = JSON.stringify({ ip: '2001:db8::7', organization: 'Société €😀', future: '€😀é'.repeat(400_000) });
  const text = `{"ip":"10.0.0.1"}\n${big}\n{"network":"192.0.2.0/24","location":{"city":"Kraków"}}\n`;
  const expected = inThread(await readAll(Readable.from([text]), 8 * 1024 * 1024));
  assert.equal(expected.length, 3);
  assert.ok(expected.every((e) => 'json' in e));
  assert.deepEqual(inWorker(await readInWorker(() => Readable.from([text]), 2, 8 * 1024 * 1024)), expected);
});

test('the worker reads only a few chunks and batches ahead of a reader that does not take them', async () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => `{"ip":"10.${i >> 16}.${(i >> 8) & 255}.${i & 255}"}`);
  const text = Buffer.from(`${lines.join('\n')}\n`);
  let chunksRead = 0;
  const source = Readable.from(
    (function* () {
      for (let at = 0; at < text.length; at += 4096) {
        chunksRead += 1;
        yield text.subarray(at, at + 4096);
      }
    })(),
  );
  const reader = readFeedInWorker(source, { batchSize: 10 });
  const first = await reader.next();
  assert.equal(first.done, false);
  // However long the first batch is held, the worker parses at most four batches ahead (and
  // one it is packing): 60 lines, under 2 of these chunks; with the two on their way, 4 or 5.
  // Until the worker has stopped asking: the count unchanged for half a second, after a second at least.
  const start = Date.now();
  for (let last = -1, stableSince = start; Date.now() - stableSince < 500 || Date.now() - start < 1000;) {
    assert.ok(Date.now() - start < 30_000, `the worker was still reading after 30 s: ${chunksRead} chunks`);
    if (chunksRead !== last) [last, stableSince] = [chunksRead, Date.now()];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(chunksRead <= 6, `${chunksRead} of ${Math.ceil(text.length / 4096)} chunks read`);
  await reader.return(undefined);
  assert.ok(source.destroyed);
});

test('a plain JSON-lines file of records reads whole', async () => {
  const feed = readFileSync(SAMPLE_FEED);
  const batches = await readInWorker(() => Readable.from([feed]), 4);
  assert.deepEqual(
    batches.map((b) => b.records.map((r) => r.line)),
    [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10],
    ],
  );
});
