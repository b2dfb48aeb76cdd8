import { stat } from 'node:fs/promises';
import { IpoidError } from '../errors.ts';
import type { Readable } from 'node:stream';
import { openFeedFile, parseRawLine } from '../feed/reader.ts';
import { readFeedInWorker } from '../feed/worker-reader.ts';
import { isTooLong, lineCount, LINE_HASH_BYTES, rawLine, readHashedLines, type HashedLines } from '../feed/hashed-lines.ts';
import type { FeedRecord, LoadRecord } from '../feed/record.ts';
import type { Logger } from '../log.ts';
import type { FeedType } from '../feed/feed-types.ts';
import { recordKey, type ImportRunSummary, type ImportTransaction, type Store } from '../store/types.ts';
import { StoredFingerprints } from './fingerprints.ts';
import { classifyBatch } from './diff.ts';
import { ImportRunRecord } from './import-run.ts';
import { progressReporter, type ProgressReporter } from './progress.ts';
import {
  checkChangeRatio,
  checkSkippedRatio,
  DEFAULT_MAX_CHANGE_RATIO,
  DEFAULT_MAX_SKIPPED_RATIO,
  tooManyChanges,
  tooManySkipped,
} from './limits.ts';

/** Records handled per round trip to the store: large enough for bulk paths, small enough to bound memory. */
export const BATCH_SIZE = 2000;

/** A feed file this large or larger is read on a worker thread, which takes a moment to start. */
const WORKER_FROM_BYTES = 8 * 1024 * 1024;

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
  /**
   * Above this share of the feed's stored records deleted or updated, the import is refused:
   * nothing is applied and the run is recorded as `refused` with the counts it would have
   * applied. 1 never refuses; a feed that holds nothing is never refused.
   */
  maxChangeRatio?: number;
  /** Apply the import whatever the change limit says (someone checked the file). */
  force?: boolean;
  /**
   * Whether the feed is read on a worker thread, leaving this one to the store: a first load's
   * lines (the feed holds nothing) split and parsed there, a diff's split and hashed there.
   * Default: for a feed file of 8 MiB or more.
   */
  readInWorker?: boolean;
  /**
   * Compute the whole diff under the import lock, then discard it: nothing changes and no run
   * is recorded. The answer is the run the import would record (`refused` when the change
   * limit would stop it), its `records` what the feed would hold once applied.
   */
  dryRun?: boolean;
}

/** The import failed and changed nothing; the run was recorded as failed (unless a dry run). */
export class ImportFailedError extends IpoidError {
  readonly run: ImportRunSummary;
  constructor(run: ImportRunSummary, options: { cause: unknown }) {
    super('IMPORT_FAILED', `import failed, stored data unchanged: ${run.error}`, options);
    this.run = run;
  }
}

/** The change limit stopped the import: nothing was applied; the run was recorded as refused. */
export class ImportRefusedError extends IpoidError {
  readonly run: ImportRunSummary;
  /** Why, without the advice on how to apply it anyway. */
  readonly reason: string;
  constructor(run: ImportRunSummary, reason: string) {
    super('IMPORT_REFUSED', `import refused, stored data unchanged: ${run.error}`);
    this.run = run;
    this.reason = reason;
  }
}

/** How to apply a refused import anyway, appended to its reason. */
const HOW_TO_FORCE = 'if the file is right, apply it anyway with --force (ipoid import --force FILE, or ipoid update --force)';

/**
 * Imports one feed file (or stream) into the store, writing only the difference from what
 * the store holds for that feed: new keys are inserted, keys whose record changed are
 * updated, keys absent from the feed are deleted. All of it lands in one store transaction,
 * so readers see the old data or the new; on any error, or past the change limit, nothing is
 * applied. A key seen twice in the feed keeps its first line; later ones are skipped as duplicates.
 */
export async function importFeed(store: Store, source: string | Readable, options: ImportOptions): Promise<ImportRunSummary> {
  const maxSkippedRatio = checkSkippedRatio(options.maxSkippedRatio ?? DEFAULT_MAX_SKIPPED_RATIO);
  const maxChangeRatio = checkChangeRatio(options.maxChangeRatio ?? DEFAULT_MAX_CHANGE_RATIO);
  const file = typeof source === 'string' ? source : null;
  const totalBytes = file === null ? undefined : (await stat(file)).size;

  const tx = await store.beginImport(options.feed);
  // Marks the end of start-up (process, store, import lock) for the scale benchmark.
  options.logger.debug({ feed: options.feed, file }, 'import reading feed');
  const run = new ImportRunRecord(options.feed, options.feedDate ?? null, file, options.logger);
  // Opened only now and read at once: a stream opened earlier could fail (the file is gone,
  // unreadable) while nothing listens, which takes the process down.
  const input = typeof source === 'string' ? openFeedFile(source) : source;
  const progress = options.progress ? progressReporter(totalBytes, options.logger) : undefined;
  let outcome: ImportRunSummary;
  let refusal: string | undefined;
  try {
    run.storedBefore = await tx.countStored(); // inside the try: a failure rolls back
    const readInWorker = options.readInWorker ?? (totalBytes !== undefined && totalBytes >= WORKER_FROM_BYTES);
    const stored = await diffFeed(tx, input, run, { maxLineBytes: options.maxLineBytes, readInWorker }, progress);
    checkWholeFeed(run, maxSkippedRatio);
    run.counts.deleted = stored ? await tx.deleteUnseen(stored.unmatched()) : 0;
    await stored?.free(); // its 10 bytes a stored record, for the commit's sorts
    refusal = options.force ? undefined : tooManyChanges(run.counts, run.storedBefore, maxChangeRatio, tx.realtimeReplaced());
    // A dry run answers the records the import would leave, refused or not.
    outcome = refusal
      ? run.summary('refused', `${refusal}; ${HOW_TO_FORCE}`, options.dryRun ? run.recordsIfApplied : run.storedBefore)
      : run.summary('succeeded', null);
    outcome = await settle(tx, outcome, options.dryRun);
  } catch (err) {
    const failed = run.summary('failed', (err as Error).message);
    const undo = options.dryRun ? tx.discard() : tx.rollback(failed);
    await undo.catch((rollbackError: unknown) => options.logger.error({ err: rollbackError }, 'rollback failed'));
    throw new ImportFailedError(failed, { cause: err });
  } finally {
    progress?.stop();
  }
  if (refusal && !options.dryRun) throw new ImportRefusedError(outcome, refusal);
  return outcome;
}

/**
 * Reads the feed and writes, batch by batch, what it inserts and updates; answers the stored
 * records no line matched (gone, or rewritten by a parsed line), for deleteUnseen.
 *
 * A line that is a stored record byte for byte (most of a day's feed) is only hashed and
 * matched against the stored fingerprints; the rest are parsed, validated and compared by key.
 * A feed that holds nothing is loaded instead (tx.load), which lets the store build its
 * indexes once at the end; repeated keys it finds only then are skipped after the read. The
 * feed may be read on a worker thread (`readInWorker`), which leaves this one to the store.
 */
async function diffFeed(
  tx: ImportTransaction,
  input: Readable,
  run: ImportRunRecord,
  { maxLineBytes, readInWorker }: { maxLineBytes: number | undefined; readInWorker: boolean },
  progress?: ProgressReporter,
): Promise<StoredFingerprints | undefined> {
  const { counts } = run;
  // Parsed lines that turned out to repeat an earlier matched line, to that line: their own
  // repeats are duplicates of it too.
  const lostTo = new Map<number, number>();
  // A feed that held nothing when the import began has nothing to compare with.
  const stored =
    run.storedBefore === 0
      ? undefined
      : await StoredFingerprints.load(run.storedBefore, (visit) => tx.forEachStoredFingerprint(run.storedBefore, visit));
  const batchApplied = (): void => {
    counts.bytesRead = 'bytesRead' in input ? (input.bytesRead as number) : 0;
    progress?.update(counts);
    run.logger.debug({ linesRead: counts.linesRead, inserted: counts.inserted, updated: counts.updated }, 'import batch applied');
  };
  // A feed's first load: every record is new, and the store may defer its indexes to the end.
  const loadBatch = async (batch: LoadRecord[]): Promise<void> => {
    const duplicates = await tx.load(batch, run.startedAt);
    for (const { record, firstLine } of duplicates) skipDuplicate(run, record, firstLine);
    counts.valid += batch.length - duplicates.length;
    counts.inserted += batch.length - duplicates.length;
    batchApplied();
  };
  const diffBatch = async (batch: FeedRecord[]): Promise<void> => {
    const duplicates = await tx.markSeen(batch);
    const duplicateLines = new Set(duplicates.map((d) => d.record.line));
    let fresh = duplicateLines.size ? batch.filter((r) => !duplicateLines.has(r.line)) : batch;
    const storedHashes = await tx.storedHashes(fresh);
    fresh = fresh.filter((record) => claimStored(run, stored!, record, storedHashes.get(recordKey(record.address)), lostTo));
    for (const { record, firstLine } of duplicates) skipDuplicate(run, record, lostTo.get(firstLine) ?? firstLine);
    counts.valid += fresh.length;
    const changes = classifyBatch(fresh, storedHashes);
    if (changes.inserts.length) await tx.insert(changes.inserts, run.startedAt);
    if (changes.updates.length) await tx.update(changes.updates, run.startedAt);
    counts.inserted += changes.inserts.length;
    counts.updated += changes.updates.length;
    batchApplied();
  };
  const applyBatch = stored ? diffBatch : loadBatch;
  if (!stored && readInWorker) {
    await loadInWorker(tx, input, run, maxLineBytes, loadBatch);
    return undefined;
  }

  // Repeats of a matched line, named once the pending batch is applied: a parsed line in it,
  // earlier in the feed, may take the record from the line they repeat.
  let repeats: MatchedRepeat[] = [];
  const applyPending = async (): Promise<void> => {
    if (batch.length) await applyBatch(batch);
    batch = [];
    for (const { record, index } of repeats) skipDuplicate(run, record, stored!.matchedBy(index)!);
    repeats = [];
  };
  let batch: FeedRecord[] = [];
  const feed = readHashedLines(input, { batchLines: BATCH_SIZE, maxLineBytes, inWorker: readInWorker, hash: stored !== undefined });
  for await (const lines of feed) {
    for (let i = 0; i < lineCount(lines); i++) {
      counts.linesRead = lines.firstLine + i;
      if (stored && !isTooLong(lines, i) && matchUnchanged(run, stored, lines, i, repeats)) continue;
      const parsed = parseRawLine(rawLine(lines, i), maxLineBytes);
      if (!parsed) continue;
      if (!parsed.ok) {
        run.skip(parsed.skip);
        continue;
      }
      batch.push(parsed.record);
      if (batch.length >= BATCH_SIZE) await applyPending();
    }
  }
  await applyPending();
  if (!stored) await finishLoad(tx, run);
  return stored;
}

/** A first load whose lines a worker thread parses: this thread only writes them, with `loadBatch`. */
async function loadInWorker(
  tx: ImportTransaction,
  input: Readable,
  run: ImportRunRecord,
  maxLineBytes: number | undefined,
  loadBatch: (batch: LoadRecord[]) => Promise<void>,
): Promise<void> {
  for await (const { records, skips, lines } of readFeedInWorker(input, { batchSize: BATCH_SIZE, maxLineBytes })) {
    for (const skip of skips) run.skip(skip);
    run.counts.linesRead = lines;
    if (records.length) await loadBatch(records);
  }
  await finishLoad(tx, run);
}

/** Ends a first load: the repeated keys the store found only then are skipped as duplicates. */
function finishLoad(tx: ImportTransaction, run: ImportRunRecord): Promise<void> {
  return tx.finishLoad(({ line, firstLine, address }) => {
    run.skip({ line, reason: duplicateReason(firstLine, address) });
    run.counts.valid -= 1;
    run.counts.inserted -= 1;
  });
}

/** A line repeating a stored record that an earlier line matched: a duplicate, of whichever line keeps the record. */
interface MatchedRepeat {
  record: FeedRecord;
  index: number;
}

/**
 * A line that is a stored record as it is: counted valid and left alone. A second line with
 * the same record is a duplicate (parsed, to name its address). Answers whether the line is done.
 */
function matchUnchanged(
  run: ImportRunRecord,
  stored: StoredFingerprints,
  lines: HashedLines,
  i: number,
  repeats: MatchedRepeat[],
): boolean {
  const index = stored.find(lines.hashes, i * LINE_HASH_BYTES);
  if (index < 0) return false;
  const line = lines.firstLine + i;
  if (stored.matchedBy(index) === undefined) {
    stored.match(index, line);
    run.counts.valid += 1;
    return true;
  }
  const parsed = parseRawLine(rawLine(lines, i));
  if (parsed?.ok) repeats.push({ record: parsed.record, index });
  return true;
}

/**
 * A parsed record whose key the store holds takes that stored record's fingerprint, so that
 * deleteUnseen keeps it and a later line repeating the old record is a duplicate. When an
 * earlier line matched that record unchanged, this line is its duplicate (answers false);
 * when a later line did (it was read before this batch was applied), that line is.
 */
function claimStored(
  run: ImportRunRecord,
  stored: StoredFingerprints,
  record: FeedRecord,
  storedHash: Buffer | undefined,
  lostTo: Map<number, number>,
): boolean {
  if (storedHash === undefined) return true;
  const index = stored.find(storedHash);
  if (index < 0) return true;
  const matchedBy = stored.matchedBy(index);
  if (matchedBy !== undefined && matchedBy < record.line) {
    skipDuplicate(run, record, matchedBy);
    lostTo.set(record.line, matchedBy);
    return false;
  }
  stored.match(index, record.line);
  if (matchedBy !== undefined) {
    run.counts.valid -= 1;
    run.skip({ line: matchedBy, reason: duplicateReason(record.line, record.address.text) });
  }
  return true;
}

function duplicateReason(firstLine: number, address: string): string {
  return `duplicate of line ${firstLine} (${address})`;
}

function skipDuplicate(run: ImportRunRecord, record: LoadRecord, firstLine: number): void {
  run.skip({ line: record.line, reason: duplicateReason(firstLine, record.address.text) });
}

/** Throws when the file is broken rather than a feed: empty, or past the skipped-line limit. */
function checkWholeFeed({ counts }: ImportRunRecord, maxSkippedRatio: number): void {
  // An empty feed is a broken download, not "every IP vanished".
  if (counts.valid === 0)
    throw new Error(`the feed holds no valid record (skipped lines: ${counts.skipped}); refusing to delete the stored data`);
  const brokenFeed = tooManySkipped(counts.skipped, counts.valid + counts.skipped, maxSkippedRatio);
  if (brokenFeed) throw new Error(brokenFeed);
}

/** Commits a successful import, rolls back a refused one (recording it), discards a dry run; answers the run as recorded. */
async function settle(tx: ImportTransaction, outcome: ImportRunSummary, dryRun = false): Promise<ImportRunSummary> {
  if (dryRun) await tx.discard();
  else if (outcome.status === 'succeeded') return tx.commit(outcome);
  else await tx.rollback(outcome);
  return outcome;
}
