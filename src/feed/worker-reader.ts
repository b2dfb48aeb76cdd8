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

/** The worker to the import's thread: a request for bytes, a batch (and the lines read so far), the end, or why it stopped. */
export type FromParseWorker =
  { want: true } | { batch: PackedRecords; lines: number } | { end: true } | { error: string; unreadable: boolean };

/** Records parsed on the worker, the lines it skipped before the last of them, and how many lines it had read. */
export interface ParsedBatch {
  records: LoadRecord[];
  skips: SkippedLine[];
  lines: number;
}

/** Chunks of the source the worker holds before it asks for more: about ten batches of gzip. */
const CHUNKS_AHEAD = 2;
const BATCHES_AHEAD = 4;

/**
 * Reads a feed as readFeed does (the same lines, records and skips, in order; the same
 * FeedReadError for a feed that cannot be read to its end), but gunzips, splits and parses it
 * on a worker thread, which leaves this thread to the store. Records come in batches of
 * `batchSize`, each with the lines skipped before its last record (the last batch with those after).
 * The source is read as the worker asks for it; when the caller stops, the worker stops and
 * the source is released.
 */
export async function* readFeedInWorker(
  input: Readable,
  { batchSize, maxLineBytes = DEFAULT_MAX_LINE_BYTES }: { batchSize: number; maxLineBytes?: number },
): AsyncGenerator<ParsedBatch> {
  const options: ParseWorkerOptions = { maxLineBytes, batchSize, batchesAhead: BATCHES_AHEAD };
  const worker: Worker = startWorker('./parse-worker', import.meta.url, options);
  const source = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const post = (message: ToParseWorker): void => worker.postMessage(message);
  const feed = (): void => {
    source.next().then(
      (next) => post(next.done ? { end: true } : { chunk: typeof next.value === 'string' ? Buffer.from(next.value) : next.value }),
      (err: unknown) => post({ fail: err instanceof Error ? err.message : String(err) }),
    );
  };

  const messages: FromParseWorker[] = [];
  let stopped: Error | undefined;
  let wake: (() => void) | undefined;
  const arrived = (): void => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  worker.on('message', (message: FromParseWorker) => {
    if ('want' in message) feed();
    else messages.push(message);
    arrived();
  });
  worker.on('error', (err) => {
    stopped ??= err;
    arrived();
  });
  worker.on('exit', (code) => {
    stopped ??= new Error(`the feed's parse worker exited (code ${code})`);
    arrived();
  });

  const unpacker = new RecordUnpacker();
  try {
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
        throw message.unreadable ? new FeedReadError(message.error) : new Error(message.error);
      } else {
        return;
      }
    }
  } finally {
    worker.removeAllListeners('exit');
    await worker.terminate();
    input.destroy();
  }
}
