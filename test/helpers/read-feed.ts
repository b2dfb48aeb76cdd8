import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { readFeed } from '../../src/feed/reader.ts';
import type { ParsedLine } from '../../src/feed/record.ts';

/** Everything readFeed yields for a feed. */
export async function readAll(input: Readable | string, maxLineBytes?: number): Promise<ParsedLine[]> {
  const out: ParsedLine[] = [];
  for await (const parsed of readFeed(input, { maxLineBytes })) out.push(parsed);
  return out;
}

/** The keys (canonical address or network) of a feed's valid lines. */
export async function feedKeys(feed: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const line of readFeed(feed)) if (line.ok) keys.add(line.record.address.text);
  return keys;
}

/** The bytes as a stream of `size`-byte chunks, as a slow disk or network would hand them out. */
export const chunked = (buf: Buffer, size: number): Readable =>
  Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
  );

/** Lines of 5,000 small records, for the unreadable feeds below. */
export const RECORD_LINES = Array.from(
  { length: 5000 },
  (_, i) => `{"ip":"10.0.${i >> 8}.${i & 255}","client":{"count":${(i * 7919) % 1000}}}`,
);

/**
 * Feeds that cannot be read to their end, each a source to open: a cut gzip stream, a corrupt
 * one, bytes after it, a disk that fails, a file that is not there.
 */
export function unreadableFeeds(): (() => Readable)[] {
  const gz = gzipSync(Buffer.from(RECORD_LINES.join('\n')));
  const corrupt = Buffer.from(gz);
  corrupt.fill(0x55, 100, 140);
  return [
    () => chunked(gz.subarray(0, gz.length - 20), 64),
    () => chunked(corrupt, 64),
    () => chunked(Buffer.concat([gz, Buffer.from('trailing')]), 256),
    () =>
      new Readable({
        read() {
          this.destroy(new Error('EIO: disk gone'));
        },
      }),
    () => createReadStream('/nonexistent/feed.json.gz'),
  ];
}
