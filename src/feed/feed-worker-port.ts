import { parentPort } from 'node:worker_threads';
import { FeedReadError, feedBytes } from './bytes.ts';
import type { FromFeedWorker, ToFeedWorker } from './feed-worker.ts';

/**
 * A feed worker's side of feed-worker.ts: the feed's bytes, gunzipped, as the import's thread
 * sends them (each chunk taken asks for the next), and the batches back, at most
 * `batchesAhead` ahead of the ones the import has taken.
 */
export class FeedWorkerPort<B> {
  readonly #port = parentPort!;
  readonly #batchesAhead: number;
  readonly #chunks: Buffer[] = [];
  #ended = false;
  #failure: string | undefined;
  #sent = 0;
  #acknowledged = 0;
  // Two wait at once: the gunzip pipeline pulls the input while the batch loop waits for acknowledgements.
  #waiting: (() => void)[] = [];

  constructor(batchesAhead: number) {
    this.#batchesAhead = batchesAhead;
    this.#port.on('message', (message: ToFeedWorker) => {
      if ('chunk' in message) this.#chunks.push(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength));
      else if ('end' in message) this.#ended = true;
      else if ('fail' in message) this.#failure = message.fail;
      else this.#acknowledged += 1;
      this.#wakeAll();
    });
    // A message that could not be received (its memory) may have been feed bytes: the read fails.
    this.#port.on('messageerror', (err) => {
      this.#failure ??= err.message;
      this.#wakeAll();
    });
  }

  /** The feed's bytes, gunzipped when they are gzip (feedBytes). */
  bytes(): AsyncGenerator<Buffer> {
    return feedBytes(this.#input());
  }

  /** Sends a batch (its `transfer` buffers handed over, not copied) once the import has room for it. */
  async send(batch: B, transfer: ArrayBuffer[]): Promise<void> {
    while (this.#sent - this.#acknowledged >= this.#batchesAhead) await this.#nextMessage();
    this.#post({ batch }, transfer);
    this.#sent += 1;
  }

  end(): void {
    this.#post({ end: true });
  }

  /** Why the read stopped, after `rest`: what was read since the last batch. */
  fail(err: unknown, rest?: B): void {
    this.#post({ error: err instanceof Error ? err.message : String(err), unreadable: err instanceof FeedReadError, rest });
  }

  #post(message: FromFeedWorker<B>, transfer: ArrayBuffer[] = []): void {
    this.#port.postMessage(message, transfer);
  }

  #wakeAll(): void {
    const woken = this.#waiting;
    this.#waiting = [];
    for (const wake of woken) wake();
  }

  #nextMessage(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async *#input(): AsyncGenerator<Buffer> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk) {
        this.#post({ want: true });
        yield chunk;
      } else if (this.#failure !== undefined) {
        throw new Error(this.#failure);
      } else if (this.#ended) {
        return;
      } else {
        await this.#nextMessage();
      }
    }
  }
}
