import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.ts';
import { FeedReadError } from './bytes.ts';
import { DEFAULT_MAX_LINE_BYTES } from './lines.ts';
import { RecordUnpacker, type PackedRecords } from './packed-records.ts';
import type { LoadRecord, SkippedLine } from './record.ts';

export interface ParseWorkerOptions {
  maxLineBytes: number;
  batchSize: number;
  /** Batches the worker may parse before the import has taken the earlier ones. */
  batchesAhead: number;
}

/** The import's thread to the worker: the feed's bytes, their end or the source's failure, and each batch taken. */
export type ToParseWorker = { chunk: Uint8Array } | { end: true } | { fail: string } | { ack: true };

/**
 * The worker to the import's thread: a request for bytes, a batch (and the lines read so far),
 * the end, or why it stopped (with the lines it skipped and read since the last batch).
 */
export type FromParseWorker =
  | { want: true }
  | { batch: PackedRecords; lines: number }
  | { end: true }
  | { error: string; unreadable: boolean; skips: SkippedLine[]; lines: number };

/** Records parsed on the worker, the lines it skipped before the last of them, and how many lines it had read. */
export interface ParsedBatch {
  records: LoadRecord[];
  skips: SkippedLine[];
  lines: number;
}

/** Chunks of the source on their way to the worker or queued there (it asks for one as it takes
 * one): 2 × 256 KiB of a file's gzip, about four batches. */
const CHUNKS_AHEAD = 2;
const BATCHES_AHEAD = 4;

/**
 * Reads a feed as readFeed does (the same lines, records and skips, in order; the same
 * FeedReadError for a feed that cannot be read to its end), but gunzips, splits and parses it
 * on a worker thread, which leaves this thread to the store. Records come in batches of
 * `batchSize`, each with the lines skipped before its last record (the last batch with those
 * after; when the read fails, a batch of no records brings the lines skipped before the
 * failure, then the error is thrown). The source is read as the worker asks for it; when the
 * caller stops, the worker stops and the source is released.
 */
export async function* readFeedInWorker(
  input: Readable,
  { batchSize, maxLineBytes = DEFAULT_MAX_LINE_BYTES }: { batchSize: number; maxLineBytes?: number },
): AsyncGenerator<ParsedBatch> {
  const options: ParseWorkerOptions = { maxLineBytes, batchSize, batchesAhead: BATCHES_AHEAD };
  const messages: FromParseWorker[] = [];
  let stopped: Error | undefined;
  let wake: (() => void) | undefined;
  const arrived = (): void => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  const stop = (err: Error): void => {
    stopped ??= err;
    arrived();
  };
  let worker: Worker | undefined;
  try {
    worker = startWorker('./parse-worker', import.meta.url, options);
    const started = worker;
    const post = (message: ToParseWorker): void => started.postMessage(message);
    const source = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    const feed = (): void => {
      source.next().then(
        (next) => post(next.done ? { end: true } : { chunk: ownBytes(next.value) }),
        (err: unknown) => post({ fail: err instanceof Error ? err.message : String(err) }),
      );
    };
    worker.on('message', (message: FromParseWorker) => {
      if ('want' in message) feed();
      else messages.push(message);
      arrived();
    });
    // A batch that could not be received must not pass for the end of a shorter feed.
    worker.on('messageerror', stop);
    worker.on('error', stop);
    worker.on('exit', (code) => stop(new Error(`the feed's parse worker exited (code ${code})`)));

    const unpacker = new RecordUnpacker();
    for (let i = 0; i < CHUNKS_AHEAD; i++) feed();
    for (;;) {
      const message = messages.shift();
      if (message === undefined) {
        if (stopped) throw stopped;
        await new Promise<void>((resolve) => (wake = resolve));
      } else if ('batch' in message) {
        post({ ack: true });
        yield { records: unpacker.unpack(message.batch), skips: message.batch.skips, lines: message.lines };
      } else if ('error' in message) {
        yield { records: [], skips: message.skips, lines: message.lines };
        throw message.unreadable ? new FeedReadError(message.error) : new Error(message.error);
      } else {
        return;
      }
    }
  } finally {
    await worker?.terminate();
    input.destroy();
  }
}

/**
 * A chunk's bytes to post: a message copies the whole buffer under a view, so a chunk that is a
 * slice of a larger one (a pooled string's bytes, a source's slices) is copied out first.
 */
function ownBytes(chunk: Buffer | string): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return chunk.byteLength === chunk.buffer.byteLength ? chunk : Buffer.from(chunk);
}
