import { parentPort, workerData } from 'node:worker_threads';
import { FeedReadError, feedBytes } from './bytes.ts';
import { splitLines } from './lines.ts';
import { RecordPacker } from './packed-records.ts';
import { parseRawLine } from './reader.ts';
import type { FromParseWorker, ParseWorkerOptions, ToParseWorker } from './worker-reader.ts';

/*
 * The thread that reads a first load's feed (worker-reader.ts): gunzips and splits the bytes
 * the import's thread sends it, parses and validates each line, and sends the records back
 * packed, a batch at a time, at most `batchesAhead` batches ahead of the import.
 */

const { maxLineBytes, batchSize, batchesAhead } = workerData as ParseWorkerOptions;
const port = parentPort!;
const send = (message: FromParseWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

const chunks: Buffer[] = [];
let ended = false;
let failure: string | undefined;
let acknowledged = 0;
// Two wait at once: the gunzip pipeline pulls input() while the parse loop waits for acknowledgements.
let waiting: (() => void)[] = [];
const wakeAll = (): void => {
  const woken = waiting;
  waiting = [];
  for (const wake of woken) wake();
};
port.on('message', (message: ToParseWorker) => {
  if ('chunk' in message) chunks.push(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength));
  else if ('end' in message) ended = true;
  else if ('fail' in message) failure = message.fail;
  else acknowledged += 1;
  wakeAll();
});
// A message that could not be received (its memory) may have been feed bytes: the read fails.
port.on('messageerror', (err) => {
  failure ??= err.message;
  wakeAll();
});
const nextMessage = (): Promise<void> => new Promise((resolve) => waiting.push(resolve));

/** The feed's bytes as the import's thread sends them; each chunk taken asks for the next. */
async function* input(): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = chunks.shift();
    if (chunk) {
      send({ want: true });
      yield chunk;
    } else if (failure !== undefined) {
      throw new Error(failure);
    } else if (ended) {
      return;
    } else {
      await nextMessage();
    }
  }
}

const packer = new RecordPacker();
let sent = 0;
let lines = 0;
async function sendBatch(): Promise<void> {
  while (sent - acknowledged >= batchesAhead) await nextMessage();
  const batch = packer.take();
  send({ batch, lines }, [batch.bytes]);
  sent += 1;
}

try {
  for await (const raw of splitLines(feedBytes(input()), maxLineBytes)) {
    lines = raw.line;
    const parsed = parseRawLine(raw, maxLineBytes);
    if (!parsed) continue;
    if (!parsed.ok) {
      packer.skip(parsed.skip);
      continue;
    }
    packer.add(parsed.record);
    if (packer.count >= batchSize) await sendBatch();
  }
  await sendBatch();
  send({ end: true });
} catch (err) {
  // The lines skipped since the last batch go with the error: the failed run counts them.
  const { skips } = packer.take();
  send({ error: err instanceof Error ? err.message : String(err), unreadable: err instanceof FeedReadError, skips, lines });
}
