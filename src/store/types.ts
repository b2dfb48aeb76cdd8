import { IpoidError } from '../errors.ts';
import type { FeedType } from '../feed/feed-types.ts';
import type { CanonicalIp } from '../feed/ip.ts';
import type { FeedRecord, LabelKind, LoadRecord, SkippedLine } from '../feed/record.ts';
import type { SpurRecord } from '../feed/schema.ts';
import type { FeedDay } from '../history/feed-day.ts';
import type { KeyPast } from '../history/timeline.ts';
import type { HistoryKey } from '../history/key-journal.ts';
import type { DataDay } from '../history/window.ts';
import type { DataRow } from './rows.ts';
import type { RecordKey } from './realtime-keys.ts';

/** One stored IP or network as one feed knows it. */
export interface StoredRecord {
  feed: FeedType;
  /** Canonical text of the address, or "addr/len" for a network. */
  key: string;
  /** The Spur IP Context object as it was in the feed. */
  context: SpurRecord;
  /** `context` as the stored JSON text, exactly (big integers, number spellings, escapes, key order). */
  json: string;
  /** Unix seconds of the last import that changed this record. */
  lastUpdated: number;
}

export interface LabelFilter {
  kind: LabelKind;
  value: string;
}

/** Which records a list (or a count of them) takes. */
export interface ListFilter {
  /** Every label must match. */
  labels: LabelFilter[];
  /** Only records whose whole range lies inside this network (first address inside, prefix at least as long). */
  within?: CanonicalIp;
}

export interface ListQuery extends ListFilter {
  limit: number;
  /** Opaque keyset cursor from a previous page's `next`. */
  after?: string;
}

export interface ListPage {
  records: StoredRecord[];
  /** Cursor for the following page; absent on the last page. */
  next?: string;
}

/** The prefixes of one family holding at least `min` records matching the filters (Store.prefixes). */
export interface PrefixQuery extends ListFilter {
  family: 4 | 6;
  /** The prefixes' length within the family (IPv4 /24: 24). */
  length: number;
  min: number;
  limit: number;
}

/** A prefix with the matching records it holds (each stored key once: an address, or a network inside it). */
export interface PrefixDensity {
  /** CIDR text: 203.0.113.0/24. */
  prefix: string;
  count: number;
  /** How many of those records carry each label, most common first. */
  labels: LabelCount[];
}

/** A label as the store numbers it (ip_data.label_ids and ip_history.label_ids hold these ids). */
export interface StoredLabel {
  id: number;
  kind: LabelKind;
  value: string;
}

export interface LabelCount {
  kind: LabelKind;
  value: string;
  count: number;
}

/**
 * `refused`: the import would have changed more of the feed than IPOID_MAX_CHANGE_RATIO allows,
 * so nothing was applied; the run carries the counts it would have applied.
 */
export type ImportStatus = 'succeeded' | 'failed' | 'refused';

/** `full`: a feed file imported by diff; `realtime`: one of Spur's 5-minute slots merged into the stored records (realtime/). */
export type RunKind = 'full' | 'realtime';

/** What one import run did, as recorded in `import_run`. */
export interface ImportRunSummary {
  feed: FeedType;
  kind: RunKind;
  /** A realtime run's slot: the UTC time its file is named after; null for a full import. */
  slot: Date | null;
  /** YYYY-MM-DD of the feed's generation, when known. */
  feedDate: string | null;
  /**
   * YYYY-MM-DD: the feed day history files the run's changes under: the feed date, else the
   * day the run began (UTC). A store never files a run before the feed's latest one.
   */
  dataDate: string;
  file: string | null;
  startedAt: Date;
  finishedAt: Date;
  linesRead: number;
  skipped: number;
  /** What the run applied; for a refused run, what it would have applied. A realtime run's inserted are the records its slot created, its updated those it merged into. */
  inserted: number;
  updated: number;
  deleted: number;
  /** Records stored for the feed once the run ended (unchanged by a failed or refused run). */
  records: number;
  status: ImportStatus;
  error: string | null;
  /** The first skipped lines, with their reasons (bounded, so a bad feed cannot bloat the table). */
  skippedSample: SkippedLine[];
}

export interface ImportRun extends ImportRunSummary {
  id: number;
}

/** Which runs `Store.importRuns` lists: at most `limit`, newest first, from before run `before` when given. */
export interface RunsQuery {
  limit: number;
  feed?: FeedType;
  kind?: RunKind;
  status?: ImportStatus;
  /** Only runs with a smaller id: the next page after a page that ended at this run. */
  before?: number;
}

/** What is stored for one feed: its latest successful full import, if any, and the realtime slots merged since. */
export interface FeedStatus {
  feed: FeedType;
  /** The latest successful full import (a feed file, or the expiry of the feed's data). */
  lastImport: ImportRun | null;
  /**
   * The newest realtime slot merged, before or since `lastImport` (store/feed-status.ts tells
   * which); null when none ever was.
   */
  lastRealtime: ImportRun | null;
  /**
   * The latest refused import when it is newer than `lastImport`: the feed's newest file is
   * waiting for someone to look at it (and force it). Null once a later import succeeded.
   */
  lastRefused: ImportRun | null;
}

/** What a realtime slot would follow, as the import transaction reads it under the import lock. */
export interface RealtimeBase {
  /**
   * The feed's latest successful full import: the day of its file (its feed date, else the day
   * it is filed under), when it began (unix seconds) and the records it left; null when none.
   */
  full: { id: number; day: FeedDay; startedAt: number; records: number } | null;
  /** The newest slot merged since that import; null when none was. */
  lastSlot: Date | null;
  /** Records the feed holds now. */
  records: number;
  /** Failed runs of the slot asked for (realtime/apply-slot.ts gives up on a slot after a few). */
  failures: number;
}

/** A duplicate key within one import: the later line loses to the first. */
export interface Duplicate {
  record: LoadRecord;
  firstLine: number;
}

/** A repeated key a first load found at its end: the later line's record was dropped. */
export interface LoadDuplicate {
  line: number;
  firstLine: number;
  /** The key's canonical text. */
  address: string;
}

/**
 * One import's writes, applied atomically: readers see the data as before `beginImport`
 * until `commit`, and nothing of it after `rollback` or if the process dies. Holding one
 * also holds the database's import lock.
 */
export interface ImportTransaction {
  /** Records the batch's keys as seen in this import; answers those seen on an earlier line. */
  markSeen(records: FeedRecord[]): Promise<Duplicate[]>;
  /** The stored hash of each record of the batch that this feed already holds, by `recordKey`. */
  storedHashes(records: FeedRecord[]): Promise<Map<string, Buffer>>;
  insert(records: FeedRecord[], now: Date): Promise<void>;
  /**
   * The first load of a feed that holds nothing: stores the batch's records, where a later
   * line may repeat an earlier line's key (the later loses). Answers the repeats it can
   * already tell; finishLoad tells the rest. Nothing else is called between the batches.
   */
  load(records: LoadRecord[], now: Date): Promise<Duplicate[]>;
  /** Ends a first load: drops the later lines' records of repeated keys (visiting each) and builds what load deferred. */
  finishLoad(visit: (duplicate: LoadDuplicate) => void): Promise<void>;
  update(records: FeedRecord[], now: Date): Promise<void>;
  /** The stored JSON (StoredRecord.json) of each record of the batch that this feed holds, by `recordKey`; what realtime merges into. */
  storedJson(records: FeedRecord[]): Promise<Map<string, string>>;
  /** The full import and the slots a realtime `slot` would follow (realtime/): read under the lock, so two followers agree. */
  realtimeBase(slot: Date): Promise<RealtimeBase>;
  /**
   * Of the records this import updated or deleted so far, those realtime slots wrote since the
   * feed's last full import: a full file replaces them, which the change limit does not count.
   */
  realtimeReplaced(): number;
  /**
   * Calls `visit` with the fingerprints (FINGERPRINT_BYTES of record_hash) of every record this
   * feed holds, in ascending byte order, many in each call (concatenated), from `count` records.
   */
  forEachStoredFingerprint(count: number, visit: (fingerprints: Buffer) => void): Promise<void>;
  /**
   * Removes this feed's records whose key was not seen (markSeen); answers how many. With
   * `fingerprints` (8-byte prefixes of record hashes), only among the records whose hash
   * begins with one of them: the import's stored records that no line matched unchanged.
   */
  deleteUnseen(fingerprints?: Iterable<Buffer>): Promise<number>;
  /** How many records this feed holds, as the transaction sees it. */
  countStored(): Promise<number>;
  /**
   * Makes the import visible and records the run; answers the run as recorded, finished once
   * the writes staged for the commit are applied (minutes, at tens of millions of records).
   * A realtime run keeps with it `slotKeys`, the keys its slot created or merged into; a full
   * run drops those of the slots before the feed's previous full run (store/realtime-keys.ts).
   */
  commit(run: ImportRunSummary, slotKeys?: readonly HistoryKey[]): Promise<ImportRunSummary>;
  /** Discards the import's writes and records the run (failed or refused). */
  rollback(run: ImportRunSummary): Promise<void>;
  /** Discards the import's writes and records nothing: a dry run. */
  discard(): Promise<void>;
}

export class ImportLockedError extends IpoidError {
  constructor() {
    super('IMPORT_LOCKED', 'another import is running on this database; this one did not start (try again when it has finished)');
  }
}

/** Imports through a store opened read-only (as the API opens it) are refused. */
export class ReadOnlyStoreError extends IpoidError {
  constructor() {
    super('READ_ONLY_STORE', 'this store was opened read-only: imports are disabled');
  }
}

/** How a store is opened; both stores take the same options. */
export interface StoreOptions {
  /**
   * Serve only: no migrations, no imports. SQLite opens the file read-only; MariaDB connects
   * as given (ideally a SELECT-only user) and checks the schema is current.
   */
  readOnly?: boolean;
  /** MariaDB: connections of the read pool (SQLite reads through one handle). */
  poolSize?: number;
  /** Feed days of history kept (IPOID_HISTORY_DAYS); 0 keeps none. */
  historyDays?: number;
}

/** What the store holds about an address over the kept history, read from one snapshot. */
export interface AddressPast {
  days: DataDay[];
  /** The address's own keys and those of networks containing it, in any feed, now or in the past. */
  keys: KeyPast[];
}

/** Keys changed by imports filed after a feed day, one keyset page at a time. */
export interface ChangedKeysQuery {
  /** Changes of imports filed after this day. */
  since: FeedDay;
  /** Only keys whose whole range lies inside this network. */
  within?: CanonicalIp;
  /** Keys per page. */
  limit: number;
  /** Opaque keyset cursor from a previous page's `next`. */
  after?: string;
}

export interface ChangedKeysPage {
  /** In key order; each with its past rows filed after `since` (oldest first) and its record now. */
  keys: KeyPast[];
  next?: string;
}

/** Default of IPOID_HISTORY_DAYS: CheckUser's window. */
export const DEFAULT_HISTORY_DAYS = 90;

/** What Store.scanChanges tells of each key written since: its record now, or that it is gone. */
export interface ChangeVisitor {
  record(row: DataRow): void;
  gone(key: RecordKey): void;
}

/** Bytes of a record hash that the import's diff matches lines by (ImportTransaction.forEachStoredFingerprint). */
export const FINGERPRINT_BYTES = 8;

export interface Store {
  readonly kind: 'sqlite' | 'mariadb';
  /** The URL that opens this store again: a second handle on the same data (the lookup index builds through one in a worker thread). */
  readonly url: string;
  /**
   * Records for the address itself and for every stored network containing it (networks may
   * nest), in all feeds: its own first, then networks from the longest prefix, ties by feed id.
   */
  lookup(address: CanonicalIp): Promise<StoredRecord[]>;
  /** `lookup` for each address, all read from one snapshot (never half an import). */
  lookupMany(addresses: CanonicalIp[]): Promise<StoredRecord[][]>;
  /**
   * Every stored record, in key order (address bytes, prefix length, feed id), and the feeds'
   * status, all read from one snapshot: what the API's lookup index is built from (lookup/).
   * SQLite reads synchronously: call it off the event loop (a worker thread).
   */
  scanRecords(visit: (row: DataRow) => void): Promise<FeedStatus[]>;
  /**
   * What changed since the data of `since` (the statuses a scan answered), in key order: each
   * key the runs since wrote (realtime slots, full imports and expiries) as its record now, or
   * as gone; and the feeds' status, from one snapshot: what patches a lookup index built from
   * `since` (store/patch-keys.ts). Null when a patch cannot tell (what it visited is then to be
   * dropped): a slot kept no keys, an import kept no history of its day, or more than `maxKeys`
   * keys changed.
   */
  scanChanges(since: readonly FeedStatus[], maxKeys: number, visitor: ChangeVisitor): Promise<FeedStatus[] | null>;
  /** Records matching every filter, ordered by address, one keyset page at a time. */
  list(query: ListQuery): Promise<ListPage>;
  /** How many records `list` would give for the filter, counting no further than `atMost` (a cheap "more than"). */
  countListed(filter: ListFilter, atMost: number): Promise<number>;
  /**
   * The prefixes holding the most records matching the query (at least `min`), most first,
   * ties in address order; a record counts in the prefix holding its whole range. One snapshot.
   */
  prefixes(query: PrefixQuery): Promise<PrefixDensity[]>;
  /** Every label value with the number of stored records carrying it. */
  labelCounts(): Promise<LabelCount[]>;
  /** Every label the store has numbered, carried now or not. */
  labels(): Promise<StoredLabel[]>;
  /** The latest import runs, newest first. */
  /** Import runs, newest first, that match the query (the API's and the CLI's run lists). */
  importRuns(query: RunsQuery): Promise<ImportRun[]>;
  /** Every feed type with its latest successful import (null when never imported) and any newer refused one. */
  feedStatus(): Promise<FeedStatus[]>;
  /** Feed days of history this store keeps. */
  readonly historyDays: number;
  /** Each feed day with data (the last successful import of a feed on that day), oldest first. */
  dataDays(): Promise<DataDay[]>;
  /** The keys that hold `address` now or did in the kept history, with their past (history/timeline.ts). */
  pastOf(address: CanonicalIp): Promise<AddressPast>;
  /** The keys that imports filed after `query.since` changed, in key order, with what they were since. */
  changedKeys(query: ChangedKeysQuery): Promise<ChangedKeysPage>;
  /** Starts an import of one feed; throws ImportLockedError when another one is running. */
  beginImport(feed: FeedType): Promise<ImportTransaction>;
  close(): Promise<void>;
}

/** Map key of a record's address within one feed. */
export function recordKey(address: CanonicalIp): string {
  return `${address.bytes.toString('hex')}/${address.prefixLen}`;
}
