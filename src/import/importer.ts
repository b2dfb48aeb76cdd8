import { stat } from 'node:fs/promises';
import { IpoidError } from '../errors.ts';
import type { Readable } from 'node:stream';
import { openFeedFile, readFeed } from '../feed/reader.ts';
import type { FeedRecord, SkippedLine } from '../feed/record.ts';
import type { Logger } from '../log.ts';
import type { FeedType } from '../feed/feed-types.ts';
import type { ImportRunSummary, Store } from '../store/types.ts';
import { classifyBatch } from './diff.ts';
import { progressReporter, type ImportProgress } from './progress.ts';
import { checkSkippedRatio, DEFAULT_MAX_SKIPPED_RATIO, tooManySkipped } from './skip-limit.ts';

/** Records handled per round trip to the store: large enough for bulk paths, small enough to bound memory. */
export const BATCH_SIZE = 2000;
/** Skipped lines kept with the run and logged one by one; the rest are only counted. */
export const SKIPPED_SAMPLE_SIZE = 100;

export interface ImportOptions {
  feed: FeedType;
  /** YYYY-MM-DD of the feed's generation, when known. */
  feedDate?: string | null;
  logger: Logger;
  /** Show a progress bar / progress log lines (the CLI does; tests and the API don't). */
  progress?: boolean;
  maxLineBytes?: number;
  /**
   * Above this share of skipped lines (bad or duplicate; blank lines aside) the import fails
   * and keeps the stored data. 0 refuses any skipped line, 1 only a feed with no valid record.
   */
  maxSkippedRatio?: number;
}

/** The import failed and changed nothing; the run was recorded as failed. */
export class ImportFailedError extends IpoidError {
  readonly run: ImportRunSummary;
  constructor(run: ImportRunSummary, options: { cause: unknown }) {
    super('IMPORT_FAILED', `import failed, stored data unchanged: ${run.error}`, options);
    this.run = run;
  }
}

/**
 * Imports one feed file (or stream) into the store, writing only the difference from what
 * the store holds for that feed: new keys are inserted, keys whose record changed are
 * updated, keys absent from the feed are deleted. All of it lands in one store transaction,
 * so readers see the old data or the new; on any error nothing is applied.
 * A key seen twice in the feed keeps its first line; later ones are skipped as duplicates.
 */
export async function importFeed(store: Store, source: string | Readable, options: ImportOptions): Promise<ImportRunSummary> {
  const { logger } = options;
  const maxSkippedRatio = checkSkippedRatio(options.maxSkippedRatio ?? DEFAULT_MAX_SKIPPED_RATIO);
  const startedAt = new Date();
  const file = typeof source === 'string' ? source : null;
  const totalBytes = file === null ? undefined : (await stat(file)).size;

  const tx = await store.beginImport(options.feed);
  let storedBefore = 0; // counted inside the try below, so that a failure rolls back
  // Opened only now and read at once: a stream opened earlier could fail (the file is gone,
  // unreadable) while nothing listens, which takes the process down.
  const input = typeof source === 'string' ? openFeedFile(source) : source;
  const counts: ImportProgress & { deleted: number; valid: number; records: number } = {
    bytesRead: 0,
    linesRead: 0,
    skipped: 0,
    inserted: 0,
    updated: 0,
    deleted: 0,
    valid: 0,
    // A failed run leaves the count as it was.
    records: 0,
  };
  const skippedSample: SkippedLine[] = [];
  const skip = (skipped: SkippedLine): void => {
    counts.skipped += 1;
    if (skippedSample.length < SKIPPED_SAMPLE_SIZE) {
      skippedSample.push(skipped);
      logger.warn({ line: skipped.line, reason: skipped.reason }, 'skipped feed line');
    }
  };
  const summary = (status: 'succeeded' | 'failed', error: string | null): ImportRunSummary => ({
    feed: options.feed,
    feedDate: options.feedDate ?? null,
    file,
    startedAt,
    finishedAt: new Date(),
    linesRead: counts.linesRead,
    skipped: counts.skipped,
    // A failed import applied nothing, whatever it had staged.
    inserted: status === 'succeeded' ? counts.inserted : 0,
    updated: status === 'succeeded' ? counts.updated : 0,
    deleted: status === 'succeeded' ? counts.deleted : 0,
    records: counts.records,
    status,
    error,
    skippedSample,
  });
  const progress = options.progress ? progressReporter(totalBytes, logger) : undefined;

  const applyBatch = async (batch: FeedRecord[]): Promise<void> => {
    const duplicates = await tx.markSeen(batch);
    const duplicateLines = new Set(duplicates.map((d) => d.record.line));
    for (const { record, firstLine } of duplicates) {
      skip({ line: record.line, reason: `duplicate of line ${firstLine} (${record.address.text})` });
    }
    const fresh = duplicateLines.size ? batch.filter((r) => !duplicateLines.has(r.line)) : batch;
    counts.valid += fresh.length;
    // A feed that held nothing when the import began has nothing to compare with.
    const stored = storedBefore === 0 ? new Map<string, Buffer>() : await tx.storedHashes(fresh);
    const changes = classifyBatch(fresh, stored);
    if (changes.inserts.length) await tx.insert(changes.inserts, startedAt);
    if (changes.updates.length) await tx.update(changes.updates, startedAt);
    counts.inserted += changes.inserts.length;
    counts.updated += changes.updates.length;
    counts.bytesRead = 'bytesRead' in input ? (input.bytesRead as number) : 0;
    progress?.update(counts);
    logger.debug({ linesRead: counts.linesRead, inserted: counts.inserted, updated: counts.updated }, 'import batch applied');
  };

  try {
    storedBefore = counts.records = await tx.countStored();
    let batch: FeedRecord[] = [];
    for await (const parsed of readFeed(input, { maxLineBytes: options.maxLineBytes })) {
      counts.linesRead = parsed.ok ? parsed.record.line : parsed.skip.line;
      if (!parsed.ok) {
        skip(parsed.skip);
        continue;
      }
      batch.push(parsed.record);
      if (batch.length >= BATCH_SIZE) {
        await applyBatch(batch);
        batch = [];
      }
    }
    if (batch.length) await applyBatch(batch);
    // An empty feed is a broken download, not "every IP vanished".
    if (counts.valid === 0) throw new Error(`the feed holds no valid record (skipped lines: ${counts.skipped}); refusing to delete the stored data`);
    const brokenFeed = tooManySkipped(counts.skipped, counts.valid + counts.skipped, maxSkippedRatio);
    if (brokenFeed) throw new Error(brokenFeed);
    counts.deleted = await tx.deleteUnseen();
    // Derived, not recounted: a count after the writes costs seconds on InnoDB.
    counts.records = storedBefore + counts.inserted - counts.deleted;
    const run = summary('succeeded', null);
    await tx.commit(run);
    return run;
  } catch (err) {
    const run = summary('failed', (err as Error).message);
    await tx.rollback(run).catch((rollbackError: unknown) => logger.error({ err: rollbackError }, 'rollback failed'));
    throw new ImportFailedError(run, { cause: err });
  } finally {
    progress?.stop();
  }
}
