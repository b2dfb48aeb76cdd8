import type { SkippedLine } from '../feed/record.ts';
import type { SpurRecord } from '../feed/schema.ts';
import { FEED_IDS, feedName } from '../feed/feed-types.ts';
import { dateOfDay, feedDay, type FeedDay } from '../history/feed-day.ts';
import type { ImportRun, ImportRunSummary, ImportStatus, RealtimeBase, RunKind, StoredRecord } from './types.ts';

/*
 * Rows as both stores read and write them: each store's SQL converts its own column types
 * (SQLite integers, MariaDB TIMESTAMP/INET6) to these plain values, so the mapping to the
 * Store API's objects is written once.
 */

export const unixSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** An ip_data row with its times in unix seconds and its address as 16 bytes. */
export interface DataRow {
  ip: Buffer;
  prefix_len: number;
  feed_id: number;
  ip_text: string;
  context: string;
  last_updated: number;
}

export function toStoredRecord(row: DataRow): StoredRecord {
  return {
    feed: feedName(row.feed_id),
    key: row.ip_text,
    context: JSON.parse(row.context) as SpurRecord,
    json: row.context,
    lastUpdated: row.last_updated,
  };
}

/** An import_run row with its times in unix seconds and its feed date as YYYY-MM-DD. */
export interface RunRow {
  id: number;
  feed_id: number;
  kind: RunKind;
  slot: number | null;
  feed_date: string | null;
  data_date: number;
  file: string | null;
  started_at: number;
  finished_at: number;
  lines_read: number;
  lines_skipped: number;
  inserted: number;
  updated: number;
  deleted: number;
  records: number;
  status: ImportStatus;
  error: string | null;
  skipped_sample: string;
}

export function toImportRun(row: RunRow): ImportRun {
  return {
    id: row.id,
    feed: feedName(row.feed_id),
    kind: row.kind,
    slot: row.slot === null ? null : new Date(row.slot * 1000),
    feedDate: row.feed_date,
    dataDate: dateOfDay(row.data_date),
    file: row.file,
    startedAt: new Date(row.started_at * 1000),
    finishedAt: new Date(row.finished_at * 1000),
    linesRead: row.lines_read,
    skipped: row.lines_skipped,
    inserted: row.inserted,
    updated: row.updated,
    deleted: row.deleted,
    records: row.records,
    status: row.status,
    error: row.error,
    skippedSample: JSON.parse(row.skipped_sample) as SkippedLine[],
  };
}

/** The import_run columns a run is written to; `runValues` gives their values in this order. */
export const RUN_INSERT_COLUMNS =
  'feed_id, feed_date, data_date, history_kept, file, started_at, finished_at, lines_read, lines_skipped, inserted, updated, deleted, records, status, error, skipped_sample, kind, slot';

/** A run's values for RUN_INSERT_COLUMNS, times in unix seconds; `dataDay` as the store filed it, `kept` whether its history was. */
export function runValues(run: ImportRunSummary, dataDay: FeedDay = feedDay(run.dataDate), kept = false): (string | number | null)[] {
  return [
    FEED_IDS[run.feed],
    run.feedDate,
    dataDay,
    kept ? 1 : 0,
    run.file,
    unixSeconds(run.startedAt),
    unixSeconds(run.finishedAt),
    run.linesRead,
    run.skipped,
    run.inserted,
    run.updated,
    run.deleted,
    run.records,
    run.status,
    run.error,
    JSON.stringify(run.skippedSample),
    run.kind,
    run.slot === null ? null : unixSeconds(run.slot),
  ];
}

/** A latestFullRunSql row (shared-sql.ts), times in unix seconds. */
export interface FullRunRow {
  id: number;
  file_day: number;
  started_at: number;
  records: number;
}

/** The rows of latestFullRunSql, latestSlotSql and slotFailuresSql (shared-sql.ts), times in unix seconds. */
export function toRealtimeBase(
  full: FullRunRow | undefined,
  latest: { slot: number; records: number } | undefined,
  failures: number,
): RealtimeBase {
  return {
    full: full ? { id: full.id, day: Number(full.file_day), startedAt: Number(full.started_at), records: full.records } : null,
    lastSlot: latest ? new Date(Number(latest.slot) * 1000) : null,
    records: latest?.records ?? full?.records ?? 0,
    failures: Number(failures),
  };
}
