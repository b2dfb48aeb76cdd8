import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { IpoidError } from '../errors.ts';

/** Thrown when the feed itself cannot be read to its end: the import must not use it. */
export class FeedReadError extends IpoidError {
  constructor(message: string) {
    super('FEED_UNREADABLE', message);
  }
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** Opens a feed file (gzip or plain JSON lines) as a byte stream. */
export function openFeedFile(path: string): Readable {
  return createReadStream(path, { highWaterMark: 256 * 1024 });
}

/**
 * Yields the feed's bytes, gunzipped when they start with the gzip magic (whatever the file
 * is called). Concatenated gzip members are one feed, as `gzip -d` reads them. A truncated
 * or corrupt gzip stream, bytes after its last member, or an I/O error end the iteration
 * with a FeedReadError: a feed that cannot be read to its end is never a shorter feed.
 */
export async function* feedBytes(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  try {
    const source = asBuffers(input)[Symbol.asyncIterator]();
    // A source may hand out chunks of a single byte: the magic can straddle two of them.
    const head: Buffer[] = [];
    for (let headLength = 0; headLength < GZIP_MAGIC.length;) {
      const next = await source.next();
      if (next.done) break;
      head.push(next.value);
      headLength += next.value.length;
    }
    const whole = (async function* () {
      yield* head;
      for (let next = await source.next(); !next.done; next = await source.next()) yield next.value;
    })();
    if (Buffer.concat(head).subarray(0, GZIP_MAGIC.length).equals(GZIP_MAGIC)) yield* gunzipped(whole);
    else yield* whole;
  } catch (err) {
    if (err instanceof FeedReadError) throw err;
    throw new FeedReadError(`cannot read feed: ${(err as Error).message}`);
  }
}

// Streams in object mode may hand out strings; everything downstream works on bytes. The
// source's own errors are told apart here from what zlib makes of its bytes.
async function* asBuffers(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of input) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  } catch (err) {
    throw new FeedReadError(`cannot read feed: ${(err as Error).message}`);
  }
}

const trailingData = (): FeedReadError => new FeedReadError('cannot read feed: data after the end of the gzip stream');

async function* gunzipped(compressed: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let fed = 0;
  const counted = (async function* () {
    for await (const chunk of compressed) {
      fed += chunk.length;
      yield chunk;
    }
  })();
  // Large output chunks: fewer async hops per line on feeds of millions of lines.
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const pumping = pipeline(Readable.from(counted, { objectMode: false }), gunzip);
  pumping.catch(() => undefined); // surfaced through the gunzip iterator or the await below
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
    await pumping;
  } catch (err) {
    // zlib takes a zero byte after a member for padding and ends its output there; the bytes
    // it is still given then fail the pipeline (premature close, push after EOF, abort).
    if (!(err instanceof FeedReadError) && gunzip.readableEnded) throw trailingData();
    throw err;
  }
  // Or zlib stops silently at what follows a member, unless that is another member: padding,
  // garbage or a member it never read, the feed is not what was published.
  if (gunzip.bytesWritten < fed) throw trailingData();
}
