import { hash as digest } from 'node:crypto';
import type { Readable } from 'node:stream';
import { startWorker } from '../worker-thread.ts';
import { BATCHES_AHEAD, feedWorkerBatches } from './feed-worker.ts';
import { feedBytes } from './bytes.ts';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, type RawLine } from './lines.ts';

/** Bytes of a line's md5 in a batch's `hashes`. */
export const LINE_HASH_BYTES = 16;

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const isJsonSpace = (byte: number): boolean => byte === SPACE || byte === TAB || byte === LF || byte === CR;

/**
 * The md5 (hex) a feed line would be stored under if it needs no rewriting: its bytes without
 * the JSON whitespace around them, as parseFeedLine stores `text.trim()`. Any other line
 * (rewritten, a byte order mark, invalid) gets a hash no stored record has, and is parsed.
 * (Hex, not a Buffer: Node 20 answers a one-shot hash as a string in about 60% of the time.)
 */
export function lineHash(bytes: Buffer): string {
  let start = 0;
  let end = bytes.length;
  while (start < end && isJsonSpace(bytes[start]!)) start++;
  while (end > start && isJsonSpace(bytes[end - 1]!)) end--;
  return digest('md5', start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), 'hex');
}

/**
 * Consecutive lines of a feed with their hashes, packed in three buffers (which a worker
 * thread hands over without copying): the diff matches most lines by hash alone and
 * builds a line's RawLine only when it must parse it.
 */
export interface HashedLines {
  /** The number of the first line; the others follow it. */
  firstLine: number;
  /** The lines' bytes, one after another. */
  bytes: Uint8Array;
  /** Where each line's bytes end in `bytes` (the next one's start). */
  ends: Uint32Array;
  /** Each line's lineHash, LINE_HASH_BYTES each (zeros for an over-long line, and when not hashed). */
  hashes: Uint8Array;
  /** Over-long lines (no bytes kept): pairs of the line's index in the batch and its length. */
  tooLong: number[];
  /** The batch's last line is the feed's, without a newline. */
  unterminated: boolean;
}

export const lineCount = (lines: HashedLines): number => lines.ends.length;

/** The length of line `i` of the batch when it was too long to keep (it has no bytes, and no hash). */
function tooLongAt(lines: HashedLines, i: number): number | undefined {
  for (let t = 0; t < lines.tooLong.length; t += 2) if (lines.tooLong[t] === i) return lines.tooLong[t + 1];
  return undefined;
}

export const isTooLong = (lines: HashedLines, i: number): boolean => tooLongAt(lines, i) !== undefined;

/** Line `i` of the batch as splitLines told it. */
export function rawLine(lines: HashedLines, i: number): RawLine {
  const line = lines.firstLine + i;
  const last = lines.unterminated && i === lines.ends.length - 1 ? { unterminated: true as const } : {};
  const tooLong = tooLongAt(lines, i);
  if (tooLong !== undefined) return { line, tooLong, ...last };
  const start = i === 0 ? 0 : lines.ends[i - 1]!;
  return { line, bytes: Buffer.from(lines.bytes.buffer, lines.bytes.byteOffset + start, lines.ends[i]! - start), ...last };
}

/** Packs raw lines, as they come, with their hashes (zeros when `hash` is off). */
class LinePacker {
  readonly #hash: boolean;
  #firstLine = 0;
  #parts: Buffer[] = [];
  #length = 0;
  #ends: number[] = [];
  /** Each line's lineHash; undefined for none (zeros). */
  #hashes: (string | undefined)[] = [];
  #tooLong: number[] = [];
  #unterminated = false;

  constructor({ hash }: { hash: boolean }) {
    this.#hash = hash;
  }

  get count(): number {
    return this.#ends.length;
  }

  add(raw: RawLine): void {
    if (this.#ends.length === 0) this.#firstLine = raw.line;
    if ('bytes' in raw) {
      this.#parts.push(raw.bytes);
      this.#length += raw.bytes.length;
      this.#hashes.push(this.#hash ? lineHash(raw.bytes) : undefined);
    } else {
      this.#tooLong.push(this.#ends.length, raw.tooLong);
      this.#hashes.push(undefined);
    }
    this.#ends.push(this.#length);
    this.#unterminated = raw.unterminated === true;
  }

  /** The lines added since the last take, packed. */
  take(): HashedLines {
    const lines: HashedLines = {
      firstLine: this.#firstLine,
      bytes: concatOwned(this.#parts, this.#length),
      ends: Uint32Array.from(this.#ends),
      hashes: this.#packedHashes(),
      tooLong: this.#tooLong,
      unterminated: this.#unterminated,
    };
    this.#parts = [];
    this.#length = 0;
    this.#ends = [];
    this.#hashes = [];
    this.#tooLong = [];
    this.#unterminated = false;
    return lines;
  }

  #packedHashes(): Buffer {
    const hashes = Buffer.allocUnsafeSlow(this.#hashes.length * LINE_HASH_BYTES).fill(0);
    for (let i = 0; i < this.#hashes.length; i++) {
      const hex = this.#hashes[i];
      if (hex !== undefined) hashes.write(hex, i * LINE_HASH_BYTES, 'hex');
    }
    return hashes;
  }
}

/** The parts in a buffer of their own (not a slice of Node's shared pool): a worker hands it over whole. */
function concatOwned(parts: Buffer[], length: number): Buffer {
  const whole = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (const part of parts) at += part.copy(whole, at);
  return whole;
}

/** How lines are read: so many a batch, over-long past `maxLineBytes`, hashed or not. */
interface HashOptions {
  batchLines: number;
  maxLineBytes: number;
  hash: boolean;
}

/**
 * The lines of the feed's `bytes`, hashed unless `hash` is off, in batches of `batchLines` (the
 * last one shorter). A batch's lines are split and hashed in one go, without a promise a line.
 * When `bytes` fails, the lines before the failure come first, as a batch.
 */
export async function* hashLines(
  bytes: AsyncIterable<Buffer>,
  { batchLines, maxLineBytes, hash }: HashOptions,
): AsyncGenerator<HashedLines> {
  const splitter = new LineSplitter(maxLineBytes);
  const packer = new LinePacker({ hash });
  try {
    for await (const chunk of bytes) {
      for (const raw of splitter.lines(chunk)) {
        packer.add(raw);
        if (packer.count >= batchLines) yield packer.take();
      }
    }
    const last = splitter.end();
    if (last) packer.add(last);
  } catch (err) {
    if (packer.count) yield packer.take();
    throw err;
  }
  if (packer.count) yield packer.take();
}

export interface HashWorkerOptions extends HashOptions {
  /** Batches the worker may hash before the import has taken the earlier ones. */
  batchesAhead: number;
}

/**
 * The feed's lines, hashed unless `hash` is off, in batches of `batchLines`: on a worker
 * thread, which gunzips, splits and hashes them (`inWorker`), or on this one. Either way the
 * same lines, and the same FeedReadError for a feed that cannot be read to its end, after
 * the lines read before it.
 */
export function readHashedLines(
  input: Readable,
  {
    batchLines,
    maxLineBytes = DEFAULT_MAX_LINE_BYTES,
    inWorker,
    hash = true,
  }: { batchLines: number; maxLineBytes?: number; inWorker: boolean; hash?: boolean },
): AsyncGenerator<HashedLines> {
  if (!inWorker) return hashInThread(input, { batchLines, maxLineBytes, hash });
  const options: HashWorkerOptions = { maxLineBytes, batchLines, hash, batchesAhead: BATCHES_AHEAD };
  return feedWorkerBatches<HashedLines>(input, () => startWorker('./hash-worker', import.meta.url, options));
}

/** hashLines of the input, on this thread; the input is released when the caller stops. */
async function* hashInThread(input: Readable, options: HashOptions): AsyncGenerator<HashedLines> {
  try {
    yield* hashLines(feedBytes(input), options);
  } finally {
    input.destroy();
  }
}
