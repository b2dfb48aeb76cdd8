import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { SpurRecord } from '../feed/schema.ts';

/** Lines are batched into chunks of about this size: one stream write per record is slow. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Writes records as JSON lines, gzip-compressed when `path` ends in ".gz", and resolves to
 * the number written. The records are pulled only as fast as the file takes them
 * (stream.pipeline backpressure), so a generator source never piles up in memory.
 */
export async function writeFeed(records: Iterable<SpurRecord> | AsyncIterable<SpurRecord>, path: string): Promise<number> {
  let written = 0;
  async function* chunks(): AsyncGenerator<string> {
    let chunk = '';
    for await (const record of records) {
      chunk += `${JSON.stringify(record)}\n`;
      written += 1;
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk !== '') yield chunk;
  }
  const file = createWriteStream(path);
  if (path.endsWith('.gz')) await pipeline(chunks, createGzip(), file);
  else await pipeline(chunks, file);
  return written;
}
