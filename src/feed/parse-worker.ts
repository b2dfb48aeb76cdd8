import { workerData } from 'node:worker_threads';
import { FeedWorkerPort } from './feed-worker-port.ts';
import { splitLines } from './lines.ts';
import { RecordPacker } from './packed-records.ts';
import { parseRawLine } from './reader.ts';
import type { ParseWorkerOptions, RecordsBatch } from './worker-reader.ts';

/*
 * The thread that reads a first load's feed (worker-reader.ts): gunzips and splits the bytes
 * the import's thread sends it, parses and validates each line, and sends the records back
 * packed, a batch at a time, at most `batchesAhead` batches ahead of the import.
 */

const { maxLineBytes, batchSize, batchesAhead } = workerData as ParseWorkerOptions;
const port = new FeedWorkerPort<RecordsBatch>(batchesAhead);
const packer = new RecordPacker();
let lines = 0;

async function sendBatch(): Promise<void> {
  const packed = packer.take();
  await port.send({ packed, lines }, [packed.bytes]);
}

try {
  for await (const raw of splitLines(port.bytes(), maxLineBytes)) {
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
  port.end();
} catch (err) {
  // The lines skipped since the last batch go with the error (the failed run counts them); its records do not, as in one thread.
  const { skips } = packer.take();
  port.fail(err, { packed: { bytes: new ArrayBuffer(0), count: 0, labels: [], skips }, lines });
}
