import type { Readable } from 'node:stream';
import { startWorker } from '../worker-thread.ts';
import { BATCHES_AHEAD, feedWorkerBatches } from './feed-worker.ts';
import { DEFAULT_MAX_LINE_BYTES } from './lines.ts';
import { RecordUnpacker, type PackedRecords } from './packed-records.ts';
import type { LoadRecord, SkippedLine } from './record.ts';

export interface ParseWorkerOptions {
  maxLineBytes: number;
  batchSize: number;
  /** Batches the worker may parse before the import has taken the earlier ones. */
  batchesAhead: number;
}

/** A batch as the parse worker sends it: the records and skips, and how many lines it had read. */
export interface RecordsBatch {
  packed: PackedRecords;
  lines: number;
}

/** Records parsed on the worker, the lines it skipped before the last of them, and how many lines it had read. */
export interface ParsedBatch {
  records: LoadRecord[];
  skips: SkippedLine[];
  lines: number;
}

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
  const unpacker = new RecordUnpacker();
  const batches = feedWorkerBatches<RecordsBatch>(input, () => startWorker('./parse-worker', import.meta.url, options));
  for await (const { packed, lines } of batches) yield { records: unpacker.unpack(packed), skips: packed.skips, lines };
}
