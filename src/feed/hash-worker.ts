import { workerData } from 'node:worker_threads';
import { FeedWorkerPort } from './feed-worker-port.ts';
import { hashLines, type HashedLines, type HashWorkerOptions } from './hashed-lines.ts';

/*
 * The thread that reads a diff's feed (hashed-lines.ts): gunzips and splits the bytes the
 * import's thread sends it and hashes each line, which is all the import needs of a line
 * that is a stored record unchanged (most of a day's feed).
 */

const { maxLineBytes, batchLines, hash, batchesAhead } = workerData as HashWorkerOptions;
const port = new FeedWorkerPort<HashedLines>(batchesAhead);

try {
  // A failed read still sends the lines read before it, as a batch, then the error.
  for await (const lines of hashLines(port.bytes(), { batchLines, maxLineBytes, hash }))
    await port.send(lines, [lines.bytes.buffer, lines.ends.buffer, lines.hashes.buffer] as ArrayBuffer[]);
  port.end();
} catch (err) {
  port.fail(err);
}
