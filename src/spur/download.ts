import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CorruptFileError, IncompleteDownloadError, isDiskError, withCause } from './errors.ts';

export interface StallLimits {
  /** The window over which progress is measured. */
  stallTimeoutMs: number;
  /** Below this average rate over a whole window, the transfer counts as stalled (0: only no byte at all). */
  minBytesPerSecond: number;
}

/**
 * Counts the bytes passing through and fails the stream when a window of `stallTimeoutMs`
 * brings fewer than the minimum: a server that trickles would otherwise hold the job for hours.
 */
class StallGuard extends Transform {
  bytes = 0;
  #windowBytes = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(limits: StallLimits) {
    super();
    const required = Math.max(1, (limits.minBytesPerSecond * limits.stallTimeoutMs) / 1000);
    this.#timer = setInterval(() => {
      if (this.#windowBytes < required) {
        this.destroy(
          new IncompleteDownloadError(
            `download stalled: ${this.#windowBytes} bytes in ${limits.stallTimeoutMs / 1000}s, ` +
              `below the minimum of ${limits.minBytesPerSecond} bytes/s`,
          ),
        );
      }
      this.#windowBytes = 0;
    }, limits.stallTimeoutMs);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.#windowBytes += chunk.length;
    callback(null, chunk);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    clearInterval(this.#timer);
    callback(err);
  }

  override _flush(callback: TransformCallback): void {
    clearInterval(this.#timer);
    callback();
  }
}

/**
 * Streams a response body into `destPath` (never holding more than a chunk in memory) and
 * makes sure the file is whole: as long as Content-Length says, and a gzip stream that
 * decompresses to its end. A truncated feed must never reach the import as a smaller feed.
 */
export async function saveBody(
  body: NonNullable<Response['body']>,
  destPath: string,
  contentLength: number | null,
  limits: StallLimits,
): Promise<number> {
  const guard = new StallGuard(limits);
  // Readable.from iterates the web stream (and cancels it on error), as Readable.fromWeb would.
  try {
    await pipeline(Readable.from(body), guard, createWriteStream(destPath));
  } catch (err) {
    if (isDiskError(err) || err instanceof IncompleteDownloadError) throw err;
    throw new IncompleteDownloadError(`download broke off after ${guard.bytes} of ${contentLength ?? '?'} bytes: ${withCause(err)}`, {
      cause: err,
    });
  }
  if (contentLength !== null && guard.bytes !== contentLength) {
    throw new IncompleteDownloadError(`download ended after ${guard.bytes} of ${contentLength} bytes`);
  }
  await verifyGzip(destPath);
  return guard.bytes;
}

async function verifyGzip(path: string): Promise<void> {
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  try {
    await pipeline(createReadStream(path), createGunzip(), sink);
  } catch (err) {
    throw new CorruptFileError(`the download is not a complete gzip file: ${(err as Error).message}`, { cause: err });
  }
}
