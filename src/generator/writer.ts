import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import type { SpurRecord } from '../feed/schema.ts';

/** Output is handed on in chunks of this size: one stream write per record is slow. */
const CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;

/*
 * gzip runs on libuv's threadpool while the main thread makes the next chunks, provided it
 * always has input queued: hence a write buffer of several chunks (the default, 16 KiB,
 * would stop the producer at every chunk until gzip caught up). Level 1 takes about a third
 * of the default level 6's time (some 0.7 s per million records), for files a third bigger.
 */
const GZIP_OPTIONS = { level: constants.Z_BEST_SPEED, chunkSize: 256 * 1024, writableHighWaterMark: 4 * CHUNK_BYTES };

/** Packs lines and runs of whole lines into chunks of CHUNK_BYTES (or `chunkBytes`: smaller ones waste less where many packers fill at once). */
export class ChunkPacker {
  private chunk: Buffer;
  private used = 0;
  private filled: Buffer[] = [];

  constructor(private readonly chunkBytes = CHUNK_BYTES) {
    this.chunk = Buffer.allocUnsafe(chunkBytes);
  }

  /** Appends one line, given without its newline. */
  line(text: string): void {
    const room = text.length * MAX_UTF8_PER_UNIT + 1;
    if (this.used + room > this.chunkBytes) {
      if (this.used > 0) this.seal();
      if (room > this.chunkBytes) {
        this.filled.push(Buffer.from(`${text}\n`));
        return;
      }
    }
    this.used += this.chunk.write(text, this.used);
    this.chunk[this.used++] = NEWLINE;
  }

  /** Appends `source[start, end)` (whole lines, newlines included) byte for byte. */
  bytes(source: Buffer, start: number, end: number): void {
    while (start < end) {
      if (this.used === this.chunkBytes) this.seal();
      const copied = source.copy(this.chunk, this.used, start, Math.min(end, start + this.chunkBytes - this.used));
      this.used += copied;
      start += copied;
    }
  }

  /** Whether full chunks are waiting to be taken. */
  get ready(): boolean {
    return this.filled.length > 0;
  }

  /** The full chunks; with `all`, also the partly filled last one. */
  take(all = false): Buffer[] {
    if (all && this.used > 0) this.seal();
    const chunks = this.filled;
    this.filled = [];
    return chunks;
  }

  private seal(): void {
    this.filled.push(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.used = 0;
  }
}

/**
 * Writes `chunks` to `path`, gzip-compressed when it ends in ".gz". The chunks are pulled only
 * as fast as the file takes them (stream.pipeline backpressure), so a generator source never
 * piles up in memory.
 */
export async function writeChunks(chunks: AsyncIterable<Buffer>, path: string): Promise<void> {
  const file = createWriteStream(path);
  if (path.endsWith('.gz')) await pipeline(chunks, createGzip(GZIP_OPTIONS), file);
  else await pipeline(chunks, file);
}

/** Writes JSON lines (given without newlines) and resolves to the number written. */
export async function writeLines(lines: Iterable<string>, path: string): Promise<number> {
  let written = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    const packer = new ChunkPacker();
    for (const line of lines) {
      packer.line(line);
      written += 1;
      if (packer.ready) yield* packer.take();
    }
    yield* packer.take(true);
  }
  await writeChunks(chunks(), path);
  return written;
}

/** Writes records as JSON lines and resolves to the number written. */
export async function writeFeed(records: Iterable<SpurRecord>, path: string): Promise<number> {
  return writeLines(
    (function* () {
      for (const record of records) yield JSON.stringify(record);
    })(),
    path,
  );
}
