import Database from 'better-sqlite3';
import { labelKey, type FeedRecord, type Label, type LoadRecord } from '../../feed/record.ts';
import { RUN_INSERT_COLUMNS, runValues, toRealtimeBase, unixSeconds, type FullRunRow } from '../rows.ts';
import {
  FINGERPRINT_BYTES,
  ImportLockedError,
  recordKey,
  type Duplicate,
  type ImportRunSummary,
  type ImportTransaction,
  type LoadDuplicate,
  type RealtimeBase,
} from '../types.ts';
import { DIFF_CACHE_KIB, IMPORT_CACHE_KIB, SORT_CACHE_KIB } from './sqlite-cache.ts';
import { SqliteFirstLoad } from './sqlite-first-load.ts';
import { ContextCodec } from './sqlite-context-codec.ts';
import { SqliteDataChanges } from './sqlite-data-changes.ts';
import { SqliteLabelChanges } from './sqlite-label-changes.ts';
import { SqliteHistory, type ReplacedRow } from './sqlite-history.ts';
import { RealtimeReplaced } from '../realtime-replaced.ts';
import { DELETE_SLOT_KEYS_SQL, INSERT_SLOT_KEYS_SQL, slotKeyParts } from '../realtime-keys.ts';
import type { HistoryKey } from '../../history/key-journal.ts';
import { feedDay, type FeedDay } from '../../history/feed-day.ts';

import { NetworkLengthTracker } from '../containment.ts';
import {
  collectUnmatchedSql,
  collectUnseenSql,
  COUNT_STORED_SQL,
  GONE_LENGTHS_SQL,
  hashRange,
  HOLDS_LENGTH_SQL,
  goneWrittenAfterSql,
  latestFullRunSql,
  latestSlotSql,
  REALTIME_CREATED_SQL,
  slotFailuresSql,
  fingerprintRanges,
} from '../shared-sql.ts';

/** How long a failed or refused import waits to record its run if another import took the lock (ms). */
const RECORD_RUN_WAIT_MS = 2 * 60 * 60 * 1000;

/**
 * What import_gone copies of a gone record, so that its row is not read again: its label
 * ids (to find its label rows) and, when history is kept, the rest of what history keeps.
 */
const GONE_COPIES = { label_ids: 'd.label_ids' };
const GONE_COPIES_WITH_HISTORY = { ...GONE_COPIES, context: 'ipoid_context(d.context)', last_updated: 'd.last_updated' };

/** What a realtime slot reads of import_run (shared-sql.ts), in SQLite's spelling. */
export const SQLITE_REALTIME_SQL = {
  latestFull: latestFullRunSql({ fileDay: "COALESCE(CAST(REPLACE(feed_date, '-', '') AS INTEGER), data_date)", startedAt: 'started_at' }),
  latestSlot: latestSlotSql('slot'),
  slotFailures: slotFailuresSql('?'),
};

/** The import's stored-hash lookup: one key of ip_data_key. */
export const SQLITE_HASH_SQL = 'SELECT record_hash FROM ip_data WHERE ip = ? AND prefix_len = ? AND feed_id = ?';

/** How long a direct import's writes and its switch back to WAL wait for a reader's transaction to end (ms). */
const DIRECT_WAIT_MS = 60 * 1000;

/**
 * An import on SQLite: one write transaction on a connection of its own, holding the
 * database's write lock (which is also the import lock) from start to commit. WAL mode lets
 * readers keep their snapshot meanwhile; a killed process leaves an uncommitted WAL tail
 * that SQLite discards on the next open, so the old data stays.
 *
 * A direct import (`direct`: the store held no data and no other connection had the file
 * open, see SqliteStore) runs in rollback-journal mode instead: it writes the new pages into
 * the database file once, where WAL mode writes them to the log and copies them again at the
 * checkpoint, and needs no free disk for a log the size of the store. Its journal keeps the
 * few pages the empty database had, so a killed import still leaves the old (empty) data.
 * It returns the file to WAL mode when it ends; were that to fail, the next read-write open does it.
 */
export class SqliteImport implements ImportTransaction {
  readonly #db: Database.Database;
  readonly #feedId: number;
  readonly #labelIds = new Map<string, number>();
  readonly #contexts: ContextCodec;
  readonly #lengths = new NetworkLengthTracker();
  readonly #data: SqliteDataChanges;
  readonly #labels: SqliteLabelChanges;
  readonly #history: SqliteHistory;
  readonly #direct: boolean;
  readonly #stmt;
  #firstLoad: SqliteFirstLoad | undefined;
  /** What slots wrote since the last full import, which the change limit leaves out; null when none did; read at the first change. */
  #realtime: RealtimeReplaced | null | undefined;

  static begin(path: string, feedId: number, historyDays: number, direct = false): SqliteImport {
    const db = new Database(path, { fileMustExist: true });
    try {
      // No waiting for the write lock: whoever holds it for longer than a moment is an import.
      db.pragma('busy_timeout = 0');
      db.pragma(`cache_size = -${IMPORT_CACHE_KIB}`);
      db.pragma('temp_store = FILE');
      // The import writes only the feed's own id and label ids it has just read or added. A
      // checked foreign key would make each of its statements that write many rows keep a
      // copy of every page they change (a statement journal), to undo that statement alone.
      db.pragma('foreign_keys = OFF');
      db.exec(`CREATE TEMP TABLE import_seen (
        ip BLOB NOT NULL, prefix_len INTEGER NOT NULL, line INTEGER NOT NULL,
        PRIMARY KEY (ip, prefix_len)) WITHOUT ROWID`);
      db.exec(`CREATE TEMP TABLE import_gone (
        ip BLOB NOT NULL, prefix_len INTEGER NOT NULL, label_ids TEXT NOT NULL, context TEXT, last_updated INTEGER,
        PRIMARY KEY (ip, prefix_len)) WITHOUT ROWID`);
      const contexts = new ContextCodec(db, path);
      const data = new SqliteDataChanges(db, feedId);
      const labels = new SqliteLabelChanges(db, feedId);
      const history = new SqliteHistory(db, feedId, historyDays);
      try {
        db.exec('BEGIN IMMEDIATE');
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new ImportLockedError();
        throw err;
      }
      // Without WAL, writing a page waits until no reader is inside a transaction.
      if (direct) db.pragma(`busy_timeout = ${DIRECT_WAIT_MS}`);
      return new SqliteImport(db, feedId, contexts, data, labels, history, direct);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private constructor(
    db: Database.Database,
    feedId: number,
    contexts: ContextCodec,
    data: SqliteDataChanges,
    labels: SqliteLabelChanges,
    history: SqliteHistory,
    direct: boolean,
  ) {
    this.#db = db;
    this.#contexts = contexts;
    this.#data = data;
    this.#direct = direct;
    this.#feedId = feedId;
    this.#labels = labels;
    this.#history = history;
    const goneCopies = history.keeping ? GONE_COPIES_WITH_HISTORY : GONE_COPIES;
    const keyMatch = 'ip = ? AND prefix_len = ? AND feed_id = ?';
    this.#stmt = {
      seen: db.prepare<[Buffer, number, number]>('INSERT OR IGNORE INTO temp.import_seen (ip, prefix_len, line) VALUES (?, ?, ?)'),
      firstLine: db.prepare<[Buffer, number], { line: number }>('SELECT line FROM temp.import_seen WHERE ip = ? AND prefix_len = ?'),
      hash: db.prepare<[Buffer, number, number], { record_hash: Buffer }>(SQLITE_HASH_SQL),
      replaced: db.prepare<[Buffer, number, number], ReplacedRow>(
        `SELECT ipoid_context(context) AS context, label_ids, last_updated FROM ip_data WHERE ${keyMatch}`,
      ),
      findLabel: db.prepare<[string, string], { id: number }>('SELECT id FROM label WHERE kind = ? AND value = ?'),
      newLabel: db.prepare<[string, string]>('INSERT INTO label (kind, value) VALUES (?, ?)'),
      collectGone: db.prepare<[number]>(collectUnseenSql(goneCopies)),
      collectUnmatched: db.prepare<[number, Buffer, Buffer]>(collectUnmatchedSql(1, 'OR IGNORE', goneCopies)),
      goneLengths: db.prepare<[], number>(GONE_LENGTHS_SQL).pluck(),
      holdsLength: db.prepare<[number, number, number, number], number>(HOLDS_LENGTH_SQL).pluck(),
      // A feed's (`?`) fingerprints whose hash lies in [?, ?), in order (ip_data_hash's), as one hex string.
      storedFingerprints: db
        .prepare<[number, Buffer, Buffer], string | null>(
          `SELECT hex(group_concat(fingerprint, '')) FROM (
             SELECT substr(record_hash, 1, ${FINGERPRINT_BYTES}) AS fingerprint FROM ip_data
              WHERE feed_id = ? AND record_hash >= ? AND record_hash < ? ORDER BY record_hash)`,
        )
        .pluck(),
      // In key order (import_gone's): ip_data_key's pages are each read and written once.
      deleteGone: db.prepare<[number]>(
        'DELETE FROM ip_data WHERE feed_id = ? AND (ip, prefix_len) IN (SELECT ip, prefix_len FROM temp.import_gone)',
      ),
      dropLength: db.prepare<[number, number]>('DELETE FROM network_length WHERE feed_id = ? AND prefix_len = ?'),
      addLength: db.prepare<[number, number]>('INSERT OR IGNORE INTO network_length (feed_id, prefix_len) VALUES (?, ?)'),
      count: db.prepare<[number], { n: number }>(COUNT_STORED_SQL),
      storedJson: db.prepare<[Buffer, number, number], string>(`SELECT ipoid_context(context) FROM ip_data WHERE ${keyMatch}`).pluck(),
      latestFull: db.prepare<[number], FullRunRow>(SQLITE_REALTIME_SQL.latestFull),
      latestSlot: db.prepare<[number, number], { slot: number; records: number }>(SQLITE_REALTIME_SQL.latestSlot),
      slotFailures: db.prepare<[number, number], number>(SQLITE_REALTIME_SQL.slotFailures).pluck(),
      goneWrittenAfter: db.prepare<[number, number], number>(goneWrittenAfterSql('?')).pluck(),
      realtimeCreated: db.prepare<[number, number], number>(REALTIME_CREATED_SQL).pluck(),
      insertSlotKeys: db.prepare<[number, number, number, Buffer]>(INSERT_SLOT_KEYS_SQL),
      deleteSlotKeys: db.prepare<[number, number, number]>(DELETE_SLOT_KEYS_SQL),
      recordRun: db.prepare(
        `INSERT INTO import_run (${RUN_INSERT_COLUMNS}) VALUES (${RUN_INSERT_COLUMNS.split(',')
          .map(() => '?')
          .join(', ')})`,
      ),
    };
  }

  async markSeen(records: FeedRecord[]): Promise<Duplicate[]> {
    const duplicates: Duplicate[] = [];
    for (const record of records) {
      const { bytes, prefixLen } = record.address;
      if (this.#stmt.seen.run(bytes, prefixLen, record.line).changes === 0) {
        duplicates.push({ record, firstLine: this.#stmt.firstLine.get(bytes, prefixLen)!.line });
      }
    }
    return duplicates;
  }

  async storedHashes(records: FeedRecord[]): Promise<Map<string, Buffer>> {
    const hashes = new Map<string, Buffer>();
    for (const { address } of records) {
      const row = this.#stmt.hash.get(address.bytes, address.prefixLen, this.#feedId);
      if (row) hashes.set(recordKey(address), row.record_hash);
    }
    return hashes;
  }

  async insert(records: FeedRecord[], now: Date): Promise<void> {
    const at = unixSeconds(now);
    this.#lengths.written(records);
    const labelIds = this.#addLabels(records);
    this.#contexts.prepare(records);
    records.forEach((record, i) => {
      this.#data.insert(record, this.#contexts.encode(record.json), labelIds[i]!, at);
      this.#history.added(record.address);
    });
  }

  async update(records: FeedRecord[], now: Date): Promise<void> {
    const at = unixSeconds(now);
    this.#lengths.written(records);
    const labelIds = this.#labelIdLists(records);
    const realtime = this.#realtimeWrites();
    this.#contexts.prepare(records);
    records.forEach((record, i) => {
      const old = this.#stmt.replaced.get(record.address.bytes, record.address.prefixLen, this.#feedId)!;
      realtime?.updated(old.last_updated);
      this.#labels.replace(record.address, JSON.parse(old.label_ids) as number[], labelIds[i]!);
      this.#history.replaced(record.address, old, record.json);
      this.#data.update(record, this.#contexts.encode(record.json), JSON.stringify(labelIds[i]), at);
    });
  }

  async storedJson(records: FeedRecord[]): Promise<Map<string, string>> {
    const stored = new Map<string, string>();
    for (const { address } of records) {
      const json = this.#stmt.storedJson.get(address.bytes, address.prefixLen, this.#feedId);
      if (json !== undefined) stored.set(recordKey(address), json);
    }
    return stored;
  }

  async realtimeBase(slot: Date): Promise<RealtimeBase> {
    const full = this.#stmt.latestFull.get(this.#feedId);
    return toRealtimeBase(
      full,
      full && this.#stmt.latestSlot.get(this.#feedId, full.id),
      this.#stmt.slotFailures.get(this.#feedId, unixSeconds(slot))!,
    );
  }

  realtimeReplaced(): number {
    return this.#realtime?.count ?? 0;
  }

  #realtimeWrites(): RealtimeReplaced | null {
    if (this.#realtime === undefined) {
      const full = this.#stmt.latestFull.get(this.#feedId);
      this.#realtime =
        full && this.#stmt.latestSlot.get(this.#feedId, full.id)
          ? new RealtimeReplaced(full.started_at, this.#stmt.realtimeCreated.get(this.#feedId, full.id)!)
          : null;
    }
    return this.#realtime;
  }

  async load(records: LoadRecord[], now: Date): Promise<Duplicate[]> {
    this.#firstLoad ??= SqliteFirstLoad.begin(this.#db, this.#feedId, this.#contexts);
    this.#lengths.written(records);
    return this.#firstLoad.append(
      records,
      this.#labelIdLists(records).map((ids) => JSON.stringify(ids)),
      unixSeconds(now),
    );
  }

  async finishLoad(visit: (duplicate: LoadDuplicate) => void): Promise<void> {
    this.#firstLoad?.finish(visit);
    this.#history.loaded();
  }

  async forEachStoredFingerprint(count: number, visit: (fingerprints: Buffer) => void): Promise<void> {
    // Only a diff asks: it holds these fingerprints beside the page cache until it commits.
    this.#db.pragma(`cache_size = -${DIFF_CACHE_KIB}`);
    for (const [from, to] of fingerprintRanges(count)) {
      const hex = this.#stmt.storedFingerprints.get(this.#feedId, from, to);
      if (hex) visit(Buffer.from(hex, 'hex'));
    }
  }

  async deleteUnseen(fingerprints?: Iterable<Buffer>): Promise<number> {
    if (fingerprints === undefined) this.#stmt.collectGone.run(this.#feedId);
    else for (const fingerprint of fingerprints) this.#stmt.collectUnmatched.run(this.#feedId, ...hashRange(fingerprint));
    this.#lengths.gone(this.#stmt.goneLengths.all());
    const realtime = this.#realtimeWrites();
    realtime?.gone(this.#stmt.goneWrittenAfter.get(this.#feedId, realtime.since)!);
    this.#labels.removeGone();
    this.#history.removed();
    return this.#stmt.deleteGone.run(this.#feedId).changes;
  }

  async countStored(): Promise<number> {
    return this.#stmt.count.get(this.#feedId)!.n;
  }

  async commit(run: ImportRunSummary, slotKeys?: readonly HistoryKey[]): Promise<ImportRunSummary> {
    // Until COMMIT, a failure (a full disk) leaves the transaction open for rollback() to record.
    this.#db.pragma(`cache_size = -${SORT_CACHE_KIB}`);
    this.#data.apply();
    this.#labels.apply();
    const day = this.#history.file(feedDay(run.dataDate));
    this.#storeLengths(); // after the history: a length its states still have is kept
    const recorded = { ...run, finishedAt: new Date() };
    try {
      this.#keepSlotKeys(recorded, this.#recordRun(recorded, day), slotKeys);
      this.#db.exec('COMMIT');
      return recorded;
    } finally {
      this.#close();
    }
  }

  async rollback(run: ImportRunSummary): Promise<void> {
    try {
      // (SQLite may have rolled it back itself already: a full disk, an I/O error.)
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      // The write lock is taken again at once to record the run. Only an import started in
      // that instant can come between, and then the run waits for it to end. (Keeping the
      // lock with a savepoint instead made SQLite copy every page the import wrote into a
      // sub-journal: 19 GiB of temporary disk for a 40M-record diff.)
      this.#db.pragma(`busy_timeout = ${RECORD_RUN_WAIT_MS}`);
      this.#db.transaction(() => this.#recordRun(run)).immediate();
    } finally {
      this.#close();
    }
  }

  async discard(): Promise<void> {
    try {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
    } finally {
      this.#close();
    }
  }

  /** Closes the connection, a direct import's after returning the file to WAL mode. */
  #close(): void {
    try {
      if (this.#direct && !this.#db.inTransaction) {
        this.#db.pragma(`busy_timeout = ${DIRECT_WAIT_MS}`);
        this.#db.pragma('journal_mode = WAL');
      }
    } catch {
      // The import's outcome stands; every read-write open of the store sets WAL mode again.
    } finally {
      this.#db.close();
    }
  }

  /** Each record's label ids, as ip_data.label_ids keeps them. */
  #labelIdLists(records: LoadRecord[]): number[][] {
    return records.map((record) => record.labels.map((label) => this.#labelId(label)));
  }

  /** Stages the records' ip_label rows (written at commit); returns each record's label_ids. */
  #addLabels(records: FeedRecord[]): string[] {
    const ids = this.#labelIdLists(records);
    records.forEach((record, i) => this.#labels.add(record.address, ids[i]!));
    return ids.map((list) => JSON.stringify(list));
  }

  #labelId(label: Label): number {
    const [kind, value] = label;
    const key = labelKey(label);
    let id = this.#labelIds.get(key);
    if (id === undefined) {
      id = this.#stmt.findLabel.get(kind, value)?.id ?? Number(this.#stmt.newLabel.run(kind, value).lastInsertRowid);
      this.#labelIds.set(key, id);
    }
    return id;
  }

  /** The feed's network lengths, for lookups' containment probes; committed with the data. */
  #storeLengths(): void {
    const { add, check } = this.#lengths.result();
    for (const length of check)
      if (this.#stmt.holdsLength.get(this.#feedId, length, this.#feedId, length) === undefined)
        this.#stmt.dropLength.run(this.#feedId, length);
    for (const length of add) this.#stmt.addLength.run(this.#feedId, length);
  }

  /** Records the run; answers its id. */
  #recordRun(run: ImportRunSummary, day?: FeedDay): number {
    return Number(this.#stmt.recordRun.run(...runValues(run, day, this.#history.keeping)).lastInsertRowid);
  }

  #keepSlotKeys(run: ImportRunSummary, runId: number, slotKeys: readonly HistoryKey[] | undefined): void {
    if (run.kind === 'full') this.#stmt.deleteSlotKeys.run(this.#feedId, this.#feedId, runId);
    else if (slotKeys) slotKeyParts(slotKeys).forEach((keys, part) => this.#stmt.insertSlotKeys.run(runId, part, this.#feedId, keys));
  }
}
