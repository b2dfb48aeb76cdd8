import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { splitLines } from './lines.ts';
import { parseFeedLine, type ParsedLine } from './record.ts';

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface ReadFeedOptions {
  /** Lines longer than this are skipped without being buffered. */
  maxLineBytes?: number;
}

/** Thrown when the feed itself cannot be read to its end: the import must not use it. */
export class FeedReadError extends Error {}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Yields the feed's bytes, gunzipped when they start with the gzip magic (whatever the file
 * is called). A truncated or corrupt gzip stream, or an I/O error, ends the iteration with a
 * FeedReadError: a feed that cannot be read to its end is never a shorter feed.
 */
async function* feedBytes(input: Readable): AsyncGenerator<Buffer> {
  const source = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  // Streams in object mode may hand out strings; everything below works on bytes.
  const nextChunk = async (): Promise<Buffer | undefined> => {
    const next = await source.next();
    if (next.done) return undefined;
    return typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
  };
  let head: Buffer | undefined;
  try {
    head = await nextChunk();
  } catch (err) {
    throw new FeedReadError(`cannot read feed: ${(err as Error).message}`);
  }
  if (!head) return;
  const first = head;
  const rest = (async function* () {
    yield first;
    for (let chunk = await nextChunk(); chunk; chunk = await nextChunk()) yield chunk;
  })();
  const gzipped = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  try {
    if (!gzipped) {
      yield* rest;
      return;
    }
    // Large output chunks: fewer async hops per line on feeds of millions of lines.
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    const pumping = pipeline(Readable.from(rest, { objectMode: false }), gunzip);
    pumping.catch(() => undefined); // surfaced through the gunzip iterator below
    for await (const chunk of gunzip) yield chunk as Buffer;
    await pumping;
  } catch (err) {
    if (err instanceof FeedReadError) throw err;
    throw new FeedReadError(`cannot read feed: ${(err as Error).message}`);
  }
}

/** Opens a feed file (gzip or plain JSON lines) as a byte stream. */
export function openFeedFile(path: string): Readable {
  return createReadStream(path, { highWaterMark: 256 * 1024 });
}

/**
 * Streams a feed line by line and validates each line. Bad lines come out as skips with
 * their line number and reason; blank lines are ignored. Backpressure: the next chunk is
 * read only when the consumer asks for more lines.
 */
export async function* readFeed(input: Readable | string, options: ReadFeedOptions = {}): AsyncGenerator<ParsedLine> {
  const stream = typeof input === 'string' ? openFeedFile(input) : input;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  try {
    for await (const raw of splitLines(feedBytes(stream), maxLineBytes)) {
      if ('tooLong' in raw) {
        yield { ok: false, skip: { line: raw.line, reason: `line longer than ${maxLineBytes} bytes (${raw.tooLong})` } };
      } else if (raw.text.trim() !== '') {
        yield parseFeedLine(raw.text, raw.line);
      }
    }
  } finally {
    stream.destroy();
  }
}
