import type { SkippedLine } from '../feed/record.ts';
import type { Logger } from '../log.ts';
import type { FeedType } from '../feed/feed-types.ts';
import type { ImportRunSummary, ImportStatus, RunKind } from '../store/types.ts';
import type { ImportProgress } from './progress.ts';
import { utcDate } from '../history/feed-day.ts';

/** Skipped lines kept with the run and logged one by one; the rest are only counted. */
export const SKIPPED_SAMPLE_SIZE = 100;

/**
 * One import's run record as it is being built: the counts so far, the skipped lines' sample,
 * and the summary that is finally recorded, whatever the outcome.
 */
export class ImportRunRecord {
  readonly counts: ImportProgress & { deleted: number; valid: number } = {
    bytesRead: 0,
    linesRead: 0,
    skipped: 0,
    inserted: 0,
    updated: 0,
    deleted: 0,
    valid: 0,
  };
  /** Records the feed held when the import began (counted inside its transaction). */
  storedBefore = 0;
  readonly #skippedSample: SkippedLine[] = [];

  constructor(
    readonly feed: FeedType,
    readonly feedDate: string | null,
    readonly file: string | null,
    readonly logger: Logger,
    /** A realtime slot's time (realtime/): the run merges that slot, filed under its day. */
    readonly slot: Date | null = null,
  ) {
    this.dataDate = slot ? utcDate(slot) : (feedDate ?? utcDate(this.startedAt));
  }

  get kind(): RunKind {
    return this.slot ? 'realtime' : 'full';
  }

  /** When the import began: also the `last_updated` of every record it writes. */
  readonly startedAt = new Date();

  /** The feed day history files the run under (ImportRunSummary.dataDate). */
  dataDate: string;

  skip(skipped: SkippedLine): void {
    this.counts.skipped += 1;
    if (this.#skippedSample.length < SKIPPED_SAMPLE_SIZE) {
      this.#skippedSample.push(skipped);
      this.logger.warn({ line: skipped.line, reason: skipped.reason }, 'skipped feed line');
    }
  }

  /** Records stored once the diff is applied; derived, not recounted (a count costs seconds on InnoDB). */
  get recordsIfApplied(): number {
    return this.storedBefore + this.counts.inserted - this.counts.deleted;
  }

  /**
   * The run as recorded. A failed run applied nothing, whatever it had staged; a refused one
   * keeps the counts it would have applied. `records` defaults to what is stored afterwards.
   */
  summary(
    status: ImportStatus,
    error: string | null,
    records = status === 'succeeded' ? this.recordsIfApplied : this.storedBefore,
  ): ImportRunSummary {
    const applied = status !== 'failed';
    return {
      feed: this.feed,
      kind: this.kind,
      slot: this.slot,
      feedDate: this.feedDate,
      dataDate: this.dataDate,
      file: this.file,
      startedAt: this.startedAt,
      finishedAt: new Date(),
      linesRead: this.counts.linesRead,
      skipped: this.counts.skipped,
      inserted: applied ? this.counts.inserted : 0,
      updated: applied ? this.counts.updated : 0,
      deleted: applied ? this.counts.deleted : 0,
      records,
      status,
      error,
      skippedSample: this.#skippedSample,
    };
  }
}
