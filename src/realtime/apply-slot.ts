import { parseRawLine, readRawLines } from '../feed/reader.ts';
import { feedRecordOf, type FeedRecord } from '../feed/record.ts';
import type { SpurRecord } from '../feed/schema.ts';
import type { FeedType } from '../feed/feed-types.ts';
import { dateOfDay } from '../history/feed-day.ts';
import type { HistoryKey } from '../history/key-journal.ts';
import { BATCH_SIZE, ImportFailedError } from '../import/importer.ts';
import { ImportRunRecord } from '../import/import-run.ts';
import { checkSkippedRatio, DEFAULT_MAX_SKIPPED_RATIO, tooManySkipped } from '../import/limits.ts';
import type { Logger } from '../log.ts';
import { recordKey, type ImportRunSummary, type ImportTransaction, type RealtimeBase, type Store } from '../store/types.ts';
import { mergeRecord } from './merge.ts';
import { parsePartialLine } from './partial-line.ts';
import { slotText } from './slot.ts';

export interface ApplySlotOptions {
  feed: FeedType;
  /** The slot the file is (realtime/slot.ts). */
  slot: Date;
  /** The id of the full import the slot was planned to follow: once another is imported, the slots since its date come first. */
  follows?: number;
  logger: Logger;
  /** As for a full import: above this share of bad lines, the slot fails and changes nothing. */
  maxSkippedRatio?: number;
  maxLineBytes?: number;
}

/**
 * What became of a slot: merged (`applied`), or left alone because the store has it already
 * (`applied-already`: it or a later slot was merged since the feed's full file), because it is
 * older than that full file (`before-full-file`: the file holds it), because the feed has no
 * full file for it to follow (`no-full-file`), because a full file other than the one it
 * was planned to follow came in meanwhile (`full-file-changed`), or because it failed
 * MAX_SLOT_FAILURES times already (`given-up`: a file that cannot be merged must not hold
 * back the slots after it until the next full file).
 */
export type SlotStatus = 'applied' | 'applied-already' | 'before-full-file' | 'no-full-file' | 'full-file-changed' | 'given-up';

/** Failed merges of one slot (recorded runs) after which it is skipped. */
export const MAX_SLOT_FAILURES = 3;
export type SlotOutcome = { status: 'applied'; run: ImportRunSummary } | { status: Exclude<SlotStatus, 'applied'> };

/**
 * Merges one realtime file into the feed's stored records (realtime/merge.ts), as one import
 * transaction: readers see all of the slot or none of it, a failure or a killed process
 * leaves the records as they were, and the run is recorded (kind `realtime`, its slot). The
 * decision whether the slot is due is taken under the import lock, so two followers never
 * merge one slot twice. The slot is held in memory, key by key: a 5-minute file is small.
 */
export async function applySlot(store: Store, file: string, options: ApplySlotOptions): Promise<SlotOutcome> {
  const maxSkippedRatio = checkSkippedRatio(options.maxSkippedRatio ?? DEFAULT_MAX_SKIPPED_RATIO);
  const tx = await store.beginImport(options.feed);
  const run = new ImportRunRecord(options.feed, null, file, options.logger, options.slot);
  try {
    const base = await tx.realtimeBase(options.slot);
    const due = slotDue(base, options.slot, options.follows);
    if (due !== 'due') {
      await tx.discard();
      return { status: due };
    }
    run.storedBefore = base.records;
    options.logger.debug({ feed: options.feed, slot: slotText(options.slot) }, 'realtime slot merging');
    const updates = await readSlot(file, run, options.maxLineBytes);
    // Stamped after the full import's second, so that the change limit of the next full file can tell the slots' records apart.
    const stamp = new Date(Math.max(run.startedAt.getTime(), (base.full!.startedAt + 1) * 1000));
    const broken = tooManySkipped(run.counts.skipped, run.counts.valid + run.counts.skipped, maxSkippedRatio);
    if (broken) throw new Error(broken);
    // The keys the slot wrote, kept with its run: what API processes patch their lookup index with.
    const written: HistoryKey[] = [];
    let batch: FeedRecord[] = [];
    for (const update of updates.values()) {
      batch.push(update);
      if (batch.length < BATCH_SIZE) continue;
      await mergeBatch(tx, batch, run, stamp, written);
      batch = [];
    }
    await mergeBatch(tx, batch, run, stamp, written);
    return { status: 'applied', run: await tx.commit(run.summary('succeeded', null), written) };
  } catch (err) {
    const failed = run.summary('failed', (err as Error).message);
    await tx.rollback(failed).catch((rollbackError: unknown) => options.logger.error({ err: rollbackError }, 'rollback failed'));
    throw new ImportFailedError(failed, { cause: err });
  }
}

/**
 * Records a failed run for a slot whose file could not be read whole (a corrupt file, which
 * downloading again brings back as it is): answers the slot's failures, this one included.
 */
export async function recordSlotFailure(store: Store, options: ApplySlotOptions, error: Error): Promise<number> {
  const tx = await store.beginImport(options.feed);
  const run = new ImportRunRecord(options.feed, null, null, options.logger, options.slot);
  let failures = 1;
  try {
    const base = await tx.realtimeBase(options.slot);
    run.storedBefore = base.records;
    failures += base.failures;
  } finally {
    await tx.rollback(run.summary('failed', error.message));
  }
  return failures;
}

/** Whether the slot follows the feed's full file and the slots merged since it. */
function slotDue(base: RealtimeBase, slot: Date, follows: number | undefined): 'due' | Exclude<SlotStatus, 'applied'> {
  // A feed whose data expired has nothing to merge into until its next full file.
  if (!base.full || base.full.records === 0) return 'no-full-file';
  if (follows !== undefined && base.full.id !== follows) return 'full-file-changed';
  if (slot.getTime() < Date.parse(dateOfDay(base.full.day))) return 'before-full-file';
  if (base.lastSlot && slot <= base.lastSlot) return 'applied-already';
  if (base.failures >= MAX_SLOT_FAILURES) return 'given-up';
  return 'due';
}

/**
 * The slot's valid lines, one update per key in the order keys first appear: a key's later
 * lines are merged into its earlier ones, which merging allows (it is associative).
 */
async function readSlot(file: string, run: ImportRunRecord, maxLineBytes?: number): Promise<Map<string, FeedRecord>> {
  const updates = new Map<string, FeedRecord>();
  for await (const raw of readRawLines(file, maxLineBytes)) {
    run.counts.linesRead = raw.line;
    const parsed = parseRawLine(raw, maxLineBytes, parsePartialLine);
    if (!parsed) continue;
    if (!parsed.ok) {
      run.skip(parsed.skip);
      continue;
    }
    const { record } = parsed;
    run.counts.valid += 1;
    const key = recordKey(record.address);
    const earlier = updates.get(key);
    updates.set(key, earlier ? { ...earlier, context: mergeRecord(earlier.context, record.context) } : record);
  }
  return updates;
}

/** Merges a batch of updates into the stored records: creates the keys not stored, rewrites those the merge changes. */
async function mergeBatch(
  tx: ImportTransaction,
  updates: FeedRecord[],
  run: ImportRunRecord,
  stamp: Date,
  written: HistoryKey[],
): Promise<void> {
  if (updates.length === 0) return;
  const stored = await tx.storedJson(updates);
  const created: FeedRecord[] = [];
  const merged: FeedRecord[] = [];
  for (const update of updates) {
    const json = stored.get(recordKey(update.address));
    const before = json === undefined ? undefined : (JSON.parse(json) as SpurRecord);
    const after = mergeRecord(before, update.context);
    if (after === before) continue;
    const parsed = feedRecordOf(after, update.line);
    if (!parsed.ok) {
      run.skip({ line: update.line, reason: `the merged record is not valid: ${parsed.skip.reason}` });
      continue;
    }
    (before ? merged : created).push(parsed.record);
  }
  if (created.length) await tx.insert(created, stamp);
  if (merged.length) await tx.update(merged, stamp);
  for (const { address } of [...created, ...merged]) written.push({ ip: address.bytes, prefix_len: address.prefixLen });
  run.counts.inserted += created.length;
  run.counts.updated += merged.length;
}
