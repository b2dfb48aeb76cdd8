import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { FeedReadError } from './bytes.ts';

/** The import's thread to a feed worker: the feed's bytes, their end or the source's failure, and each batch taken. */
export type ToFeedWorker = { chunk: Uint8Array } | { end: true } | { fail: string } | { ack: true };

/**
 * A feed worker to the import's thread: a request for bytes, a batch, the end, or why it
 * stopped (with what it read since its last batch, which the import's thread takes first).
 */
export type FromFeedWorker<B> = { want: true } | { batch: B } | { end: true } | { error: string; unreadable: boolean; rest?: B };

/** Chunks of the source on their way to the worker or queued there (it asks for one as it takes
 * one): 2 × 256 KiB of a file's gzip, about four batches. */
const CHUNKS_AHEAD = 2;

/** Batches a feed worker may send before the import has taken the earlier ones. */
export const BATCHES_AHEAD = 4;

/**
 * The batches a feed worker (started by `start`) makes of `input`, which it gunzips and splits
 * on its own thread. The source is read as the worker asks for it; each batch taken lets it
 * make one more. When the worker cannot read the feed to its end, the batch of what it read
 * since its last one comes first, then its error (a FeedReadError when the feed is unreadable,
 * as the in-thread reader's). When the caller stops, the worker stops and the source is released.
 */
export async function* feedWorkerBatches<B>(input: Readable, start: () => Worker): AsyncGenerator<B> {
  const messages: FromFeedWorker<B>[] = [];
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
    worker = start();
    const started = worker;
    const post = (message: ToFeedWorker): void => started.postMessage(message);
    const source = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    const feed = (): void => {
      source.next().then(
        (next) => post(next.done ? { end: true } : { chunk: ownBytes(next.value) }),
        (err: unknown) => post({ fail: err instanceof Error ? err.message : String(err) }),
      );
    };
    worker.on('message', (message: FromFeedWorker<B>) => {
      if ('want' in message) feed();
      else messages.push(message);
      arrived();
    });
    // A batch that could not be received must not pass for the end of a shorter feed.
    worker.on('messageerror', stop);
    worker.on('error', stop);
    worker.on('exit', (code) => stop(new Error(`the feed's worker exited (code ${code})`)));

    for (let i = 0; i < CHUNKS_AHEAD; i++) feed();
    for (;;) {
      const message = messages.shift();
      if (message === undefined) {
        if (stopped) throw stopped;
        await new Promise<void>((resolve) => (wake = resolve));
      } else if ('batch' in message) {
        post({ ack: true });
        yield message.batch;
      } else if ('error' in message) {
        if (message.rest !== undefined) yield message.rest;
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
