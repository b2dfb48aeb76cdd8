import type { Connection, UpsertResult } from 'mariadb';
import type { FeedRecord, LoadRecord } from '../../feed/record.ts';
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
import { NetworkLengthTracker } from '../containment.ts';
import {
  collectUnmatchedSql,
  collectUnseenSql,
  COUNT_STORED_SQL,
  GONE_LENGTHS_SQL,
  hashRange,
  ANY_RUN_SQL,
  fileHistorySql,
  HOLDS_LENGTH_SQL,
  LATEST_DATA_DAY_SQL,
  goneWrittenAfterSql,
  latestFullRunSql,
  latestSlotSql,
  REALTIME_CREATED_SQL,
  slotFailuresSql,
  JOURNAL_KEYS_SQL,
  PRUNABLE_KEYS_SQL,
  PRUNE_JOURNAL_SQL,
  PRUNE_STATE_SQL,
  RESTATE_SQL,
  sameDaySql,
  SAME_DAY_PAGE,
  fingerprintRanges,
} from '../shared-sql.ts';
import { connect, getLock, lockName, type ConnectionOptions } from './mariadb-connection.ts';
import { dropLeftovers, MariadbFirstLoad } from './mariadb-first-load.ts';
import { LabelIds } from './mariadb-label-ids.ts';
import { MariadbLabelChanges } from './mariadb-label-changes.ts';
import { RealtimeReplaced } from '../realtime-replaced.ts';
import { DELETE_SLOT_KEYS_SQL, INSERT_SLOT_KEYS_SQL, slotKeyParts } from '../realtime-keys.ts';
import { addDays, feedDay, type FeedDay } from '../../history/feed-day.ts';
import { encodeState, restate } from '../../history/state-codec.ts';
import { decodeKeys, encodeKeys, KEYS_PER_PART, type HistoryKey } from '../../history/key-journal.ts';

const KEY_COLUMNS = 'ip INET6 NOT NULL, prefix_len TINYINT UNSIGNED NOT NULL';
// A record's columns, in the order of MariadbImport#dataValues; last_updated travels as unix seconds.
const DATA_COLUMNS = ['ip_text', 'context', 'label_ids', 'record_hash', 'last_updated'];
const placeholder = (column: string): string => (column === 'last_updated' ? 'FROM_UNIXTIME(?)' : '?');
const KEY_MATCH = 'ip = ? AND prefix_len = ? AND feed_id = ?';
/** Fingerprint ranges per statement when collecting what the import did not see. */
const UNMATCHED_BATCH = 1000;

/** The batch's addresses for `ip IN (…)`, a range of the index per address; rows are then matched by recordKey. */
function addressList(records: LoadRecord[]): { sql: string; values: Buffer[] } {
  return { sql: records.map(() => '?').join(', '), values: records.map((r) => r.address.bytes) };
}

/** What the import reads of stored records: their hash (to diff), or what an update replaces. */
const STORED_COLUMNS = {
  hash: 'record_hash',
  json: 'context',
  replaced: 'context, label_ids, UNIX_TIMESTAMP(last_updated) AS last_updated',
} as const;

/** Columns of the stored records at `count` addresses: ranges of the primary key. */
function storedColumnSql(columns: keyof typeof STORED_COLUMNS, count: number): string {
  const addresses = Array.from({ length: count }, () => '?').join(', ');
  return `SELECT CAST(ip AS BINARY(16)) AS ip, prefix_len, ${STORED_COLUMNS[columns]} FROM ip_data WHERE feed_id = ? AND ip IN (${addresses})`;
}

/** What a realtime slot reads of import_run (shared-sql.ts), in MariaDB's spelling: times in unix seconds. */
export const MARIADB_REALTIME_SQL = {
  latestFull: latestFullRunSql({
    fileDay: "COALESCE(DATE_FORMAT(feed_date, '%Y%m%d') + 0, data_date)",
    startedAt: 'UNIX_TIMESTAMP(started_at)',
  }),
  latestSlot: latestSlotSql('UNIX_TIMESTAMP(slot)'),
  slotFailures: slotFailuresSql('FROM_UNIXTIME(?)'),
};

/** The import's stored-hash lookup of `count` addresses. */
export const storedHashesSql = (count: number): string => storedColumnSql('hash', count);

/** A feed's (`?`) fingerprints whose hash lies in [?, ?), in order, as one hex string. */
const STORED_FINGERPRINTS_SQL = `SELECT HEX(GROUP_CONCAT(LEFT(record_hash, ${FINGERPRINT_BYTES}) ORDER BY record_hash SEPARATOR '')) AS hex
  FROM ip_data WHERE feed_id = ? AND record_hash >= ? AND record_hash < ?`;

/** A stored record as an update or a delete replaces it. */
interface ReplacedRow {
  context: string;
  label_ids: string;
  last_updated: number;
}

/** The states an import stages for the history, filed at commit; dropped with the session. */
export const MARIADB_CREATE_IMPORT_HISTORY_SQL = `CREATE TEMPORARY TABLE import_history (${KEY_COLUMNS}, state BLOB, label_ids JSON,
  last_updated TIMESTAMP NULL DEFAULT NULL, PRIMARY KEY (ip, prefix_len)) ENGINE=InnoDB`;

/** The keys of temporary table `alias` after a key, in (ip, prefix_len) order: how its pages are read. */
const afterKeySql = (alias: string): string => `(${alias}.ip > ? OR (${alias}.ip = ? AND ${alias}.prefix_len > ?))`;
const afterKeyValues = (key: HistoryKey): unknown[] => [key.ip, key.ip, key.prefix_len];

/** A page of a second import's same-day re-take (shared-sql.ts): the first, and the next after a staged key (afterKeyValues). */
export const MARIADB_SAME_DAY_SQL = {
  first: sameDaySql('CAST(s.ip AS BINARY(16))', 'STRAIGHT_JOIN'),
  after: sameDaySql('CAST(s.ip AS BINARY(16))', 'STRAIGHT_JOIN', 'd.context', afterKeySql('s')),
};

const STAGE_HISTORY_SQL =
  'INSERT INTO import_history (ip, prefix_len, state, label_ids, last_updated) VALUES (?, ?, ?, ?, FROM_UNIXTIME(?))';
/** Gone records read per statement, to stage their history. */
const GONE_PAGE = 2000;

/**
 * Copies into import_gone what is needed of its records' rows (for the history only with
 * history kept), reading them in import_gone's key order: once the store outgrows the buffer
 * pool, rows read again later would be read from disk again.
 */
const copyGoneSql = (columns: string[]): string => `UPDATE import_gone g STRAIGHT_JOIN ip_data d
  ON d.ip = g.ip AND d.prefix_len = g.prefix_len AND d.feed_id = ? SET ${columns.map((c) => `g.${c} = d.${c}`).join(', ')}`;
const COPY_GONE_SQL = copyGoneSql(['label_ids']);
const COPY_GONE_WITH_HISTORY_SQL = copyGoneSql(['label_ids', 'context', 'last_updated']);

/** The records that go, with what the import copies of them (copyGoneSql). */
export const MARIADB_CREATE_IMPORT_GONE_SQL = `CREATE TEMPORARY TABLE import_gone (${KEY_COLUMNS}, label_ids JSON, context JSON,
  last_updated TIMESTAMP NULL DEFAULT NULL, PRIMARY KEY (ip, prefix_len)) ENGINE=InnoDB`;

/** How the gone records' rows are read (their copies) and deleted: import_gone in key order, each probing ip_data's key. */
export const MARIADB_GONE_SQL = {
  copy: COPY_GONE_WITH_HISTORY_SQL,
  delete: 'DELETE d FROM import_gone g STRAIGHT_JOIN ip_data d ON d.ip = g.ip AND d.prefix_len = g.prefix_len AND d.feed_id = ?',
};

interface KeyRow {
  ip: Buffer;
  prefix_len: number;
}
const rowKey = (row: KeyRow): string => `${row.ip.toString('hex')}/${row.prefix_len}`;
// MariaDB's JSON is text: the connector hands label_ids over as a string.
const labelIdList = (labelIds: string): number[] => JSON.parse(labelIds) as number[];

/**
 * An import on MariaDB: one transaction on a dedicated connection that also holds the
 * database's import lock. InnoDB gives readers the data as of before the import until the
 * commit; if the process dies, the server rolls the transaction back and frees the lock
 * when the connection drops. A first load into an empty store builds new tables instead and
 * switches them in at commit (mariadb-first-load.ts). Writes go through the connector's batch(), which sends a
 * whole batch as one bulk command (measured faster here than LOAD DATA LOCAL from memory).
 */
export class MariadbImport implements ImportTransaction {
  readonly #conn: Connection;
  readonly #feedId: number;
  readonly #lock: string;
  readonly #labels: LabelIds;
  readonly #labelChanges: MariadbLabelChanges;
  readonly #lengths = new NetworkLengthTracker();
  readonly #historyDays: number;
  /** Whether the store had a successful import before this one (asked by a first load). */
  #everImported: boolean | undefined;
  // Writes queued without waiting (#send), so that the server applies one batch while the
  // importer parses the next. Calls that depend on them first wait for them (#settle), so
  // a failed write fails the import before it can commit.
  #pending: Promise<unknown> = Promise.resolve();
  /** A first load into an empty ip_data (null: the feed loads as any batch is applied); decided by the first load() call. */
  #firstLoad: MariadbFirstLoad | null | undefined;
  /** What slots wrote since the last full import, which the change limit leaves out; null when none did; read at the first change. */
  #realtime: RealtimeReplaced | null | undefined;

  static async begin(options: ConnectionOptions, feedId: number, historyDays: number): Promise<MariadbImport> {
    const conn = await connect(options);
    const lock = lockName('import', options.database);
    try {
      if (!(await getLock(conn, lock, 0))) throw new ImportLockedError();
      await dropLeftovers(conn);
      await conn.query(`CREATE TEMPORARY TABLE import_seen (${KEY_COLUMNS}, line INT UNSIGNED NOT NULL,
                        PRIMARY KEY (ip, prefix_len)) ENGINE=InnoDB`);
      await conn.query(MARIADB_CREATE_IMPORT_GONE_SQL);
      await MariadbLabelChanges.create(conn);
      await conn.query(MARIADB_CREATE_IMPORT_HISTORY_SQL);
      await conn.beginTransaction();
      return new MariadbImport(conn, feedId, lock, historyDays);
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }

  private constructor(conn: Connection, feedId: number, lock: string, historyDays: number) {
    this.#conn = conn;
    this.#historyDays = historyDays;
    this.#lock = lock;
    this.#feedId = feedId;
    this.#labels = new LabelIds(conn);
    this.#labelChanges = new MariadbLabelChanges(conn, feedId, (sql, rows) => this.#send(sql, rows));
  }

  async markSeen(records: LoadRecord[]): Promise<Duplicate[]> {
    if (records.length === 0) return [];
    // The first line of every key: this batch's own first lines, unless an earlier batch
    // stored one; a record is a duplicate when its key's first line is not its own.
    const firstLines = new Map<string, number>();
    const firsts: LoadRecord[] = [];
    for (const record of records) {
      const key = recordKey(record.address);
      if (firstLines.has(key)) continue;
      firstLines.set(key, record.line);
      firsts.push(record);
    }
    await this.#settle();
    const inserted = await this.#conn.batch<UpsertResult>(
      'INSERT IGNORE INTO import_seen (ip, prefix_len, line) VALUES (?, ?, ?)',
      firsts.map((r) => [r.address.bytes, r.address.prefixLen, r.line]),
    );
    // Only when some key was already there (rare) is it worth asking which and where.
    if (inserted.affectedRows < firsts.length) {
      const addresses = addressList(firsts);
      const earlier = await this.#conn.query<(KeyRow & { line: number })[]>(
        `SELECT CAST(ip AS BINARY(16)) AS ip, prefix_len, line FROM import_seen WHERE ip IN (${addresses.sql})`,
        addresses.values,
      );
      for (const row of earlier) if (firstLines.has(rowKey(row))) firstLines.set(rowKey(row), row.line);
    }
    return records.flatMap((record) => {
      const firstLine = firstLines.get(recordKey(record.address))!;
      return firstLine === record.line ? [] : [{ record, firstLine }];
    });
  }

  async storedHashes(records: FeedRecord[]): Promise<Map<string, Buffer>> {
    if (records.length === 0) return new Map();
    await this.#settle();
    const rows = await this.#storedRows<{ record_hash: Buffer }>('hash', records);
    return new Map(rows.map((row) => [rowKey(row), row.record_hash]));
  }

  async insert(records: LoadRecord[], now: Date): Promise<void> {
    await this.#insert(records, now);
    // History: the keys were not in the feed before.
    if (records.length && this.#historyDays > 0)
      this.#send(
        STAGE_HISTORY_SQL,
        records.map((r) => [r.address.bytes, r.address.prefixLen, null, null, null]),
      );
  }

  async #insert(records: LoadRecord[], now: Date): Promise<void> {
    if (records.length === 0) return;
    this.#lengths.written(records);
    const labelIds = await this.#labelIdLists(records);
    this.#labelChanges.add(records, labelIds);
    this.#send(
      `INSERT INTO ip_data (ip, prefix_len, feed_id, ${DATA_COLUMNS.join(', ')}) VALUES (?, ?, ?, ${DATA_COLUMNS.map(placeholder).join(', ')})`,
      records.map((r, i) => [r.address.bytes, r.address.prefixLen, this.#feedId, ...this.#dataValues(r, JSON.stringify(labelIds[i]), now)]),
    );
  }

  /**
   * Into an empty ip_data, the bulk path of mariadb-first-load.ts; beside other feeds' rows,
   * as any batch is applied (the tables cannot be switched whole then).
   */
  async load(records: LoadRecord[], now: Date): Promise<Duplicate[]> {
    if (this.#firstLoad === undefined) {
      await this.#settle();
      this.#firstLoad = (await MariadbFirstLoad.begin(this.#conn, this.#feedId)) ?? null;
    }
    if (this.#firstLoad) {
      this.#lengths.written(records);
      const labelIds = (await this.#labelIdLists(records)).map((ids) => JSON.stringify(ids));
      await this.#settle(); // one batch in flight while the next is parsed: memory stays bounded
      this.#send(...this.#firstLoad.append(records, labelIds, unixSeconds(now)));
      return [];
    }
    const duplicates = await this.markSeen(records);
    const repeated = new Set(duplicates.map((d) => d.record));
    // The feed held nothing: the keys are added, which history records unless nothing was ever imported.
    this.#everImported ??= (await this.#conn.query<unknown[]>(ANY_RUN_SQL)).length > 0;
    const fresh = records.filter((record) => !repeated.has(record));
    if (this.#everImported) await this.insert(fresh, now);
    else await this.#insert(fresh, now);
    return duplicates;
  }

  async finishLoad(visit: (duplicate: LoadDuplicate) => void): Promise<void> {
    await this.#settle();
    await this.#firstLoad?.finish(visit);
  }

  async update(records: FeedRecord[], now: Date): Promise<void> {
    if (records.length === 0) return;
    this.#lengths.written(records);
    const keys = records.map((r) => [r.address.bytes, r.address.prefixLen, this.#feedId]);
    // Only the label rows that differ from the stored label_ids go and come.
    const old = new Map((await this.#storedRows<ReplacedRow>('replaced', records)).map((row) => [rowKey(row), row]));
    const realtime = await this.#realtimeWrites();
    for (const row of old.values()) realtime?.updated(Number(row.last_updated));
    const labelIds = await this.#labelIdLists(records);
    const stored = records.map((r) => {
      const row = old.get(recordKey(r.address));
      return row ? labelIdList(row.label_ids) : [];
    });
    this.#labelChanges.replace(records, stored, labelIds);
    if (this.#historyDays > 0) {
      this.#send(
        STAGE_HISTORY_SQL,
        records.map((r) => {
          const row = old.get(recordKey(r.address))!;
          return [r.address.bytes, r.address.prefixLen, encodeState(row.context, r.json), row.label_ids, row.last_updated];
        }),
      );
    }
    this.#send(
      `UPDATE ip_data SET ${DATA_COLUMNS.map((c) => `${c} = ${placeholder(c)}`).join(', ')} WHERE ${KEY_MATCH}`,
      records.map((r, i) => [...this.#dataValues(r, JSON.stringify(labelIds[i]), now), ...keys[i]!]),
    );
  }

  async storedJson(records: FeedRecord[]): Promise<Map<string, string>> {
    if (records.length === 0) return new Map();
    await this.#settle();
    const rows = await this.#storedRows<{ context: string }>('json', records);
    return new Map(rows.map((row) => [rowKey(row), row.context]));
  }

  async realtimeBase(slot: Date): Promise<RealtimeBase> {
    await this.#settle();
    const { full, latest } = await this.#latestRuns();
    const [failures] = await this.#conn.execute<{ n: number }[]>(MARIADB_REALTIME_SQL.slotFailures, [this.#feedId, unixSeconds(slot)]);
    return toRealtimeBase(full, latest, failures!.n);
  }

  realtimeReplaced(): number {
    return this.#realtime?.count ?? 0;
  }

  /** The feed's latest full import, and the newest slot merged since it. */
  async #latestRuns(): Promise<{ full?: FullRunRow; latest?: { slot: number; records: number } }> {
    const [full] = await this.#conn.execute<FullRunRow[]>(MARIADB_REALTIME_SQL.latestFull, [this.#feedId]);
    if (!full) return {};
    const [latest] = await this.#conn.execute<{ slot: number; records: number }[]>(MARIADB_REALTIME_SQL.latestSlot, [
      this.#feedId,
      full.id,
    ]);
    return { full, latest };
  }

  async #realtimeWrites(): Promise<RealtimeReplaced | null> {
    if (this.#realtime === undefined) {
      const { full, latest } = await this.#latestRuns();
      if (full && latest) {
        const [created] = await this.#conn.execute<{ n: number }[]>(REALTIME_CREATED_SQL, [this.#feedId, full.id]);
        this.#realtime = new RealtimeReplaced(Number(full.started_at), Number(created!.n));
      } else this.#realtime = null;
    }
    return this.#realtime;
  }

  async forEachStoredFingerprint(count: number, visit: (fingerprints: Buffer) => void): Promise<void> {
    await this.#settle();
    // A chunk's hex is about 1 MiB: past the 1 MiB GROUP_CONCAT cuts at by default.
    await this.#conn.query('SET SESSION group_concat_max_len = 67108864');
    for (const [from, to] of fingerprintRanges(count)) {
      const [row] = await this.#conn.execute<{ hex: string | null }[]>(STORED_FINGERPRINTS_SQL, [this.#feedId, from, to]);
      if (row?.hex) visit(Buffer.from(row.hex, 'hex'));
    }
  }

  async deleteUnseen(fingerprints?: Iterable<Buffer>): Promise<number> {
    await this.#settle();
    if (fingerprints === undefined) await this.#conn.execute(collectUnseenSql(), [this.#feedId]);
    else await this.#collectUnmatched(fingerprints);
    const gone = await this.#conn.query<{ prefix_len: number }[]>(GONE_LENGTHS_SQL);
    this.#lengths.gone(gone.map((row) => row.prefix_len));
    // The gone rows are read once, in key order, for all that needs them: what history keeps,
    // their label ids, the count of those slots wrote, and their deletion.
    await this.#conn.execute(this.#historyDays > 0 ? COPY_GONE_WITH_HISTORY_SQL : COPY_GONE_SQL, [this.#feedId]);
    const realtime = await this.#realtimeWrites();
    if (realtime) {
      const [written] = await this.#conn.execute<{ n: number }[]>(goneWrittenAfterSql('FROM_UNIXTIME(?)'), [this.#feedId, realtime.since]);
      realtime.gone(Number(written!.n));
    }
    const result = await this.#conn.execute<{ affectedRows: number }>(MARIADB_GONE_SQL.delete, [this.#feedId]);
    if (this.#historyDays > 0) await this.#stageRemoved();
    await this.#labelChanges.removeGone();
    return result.affectedRows;
  }

  async countStored(): Promise<number> {
    await this.#settle();
    const [row] = await this.#conn.execute<{ n: number }[]>(COUNT_STORED_SQL, [this.#feedId]);
    return row!.n;
  }

  async commit(run: ImportRunSummary, slotKeys?: readonly HistoryKey[]): Promise<ImportRunSummary> {
    // Until COMMIT is sent, a failure leaves the transaction open for rollback() to record.
    await this.#settle();
    const day = await this.#fileHistory(feedDay(run.dataDate));
    await this.#storeLengths(); // after the history: a length its states still have is kept
    // A first load's data first: a run recorded for data that never came would let the update job skip the feed's day.
    if (this.#firstLoad) await this.#firstLoad.switchIn();
    else await this.#labelChanges.apply();
    const recorded = { ...run, finishedAt: new Date() };
    await this.#keepSlotKeys(recorded, await this.#recordRun(recorded, day), slotKeys);
    if (this.#firstLoad) {
      // Done: the replaced tables are empty, and any that a failed drop leaves the next import drops.
      await this.#firstLoad.discard().catch(() => undefined);
      await this.#close();
      return recorded;
    }
    try {
      await this.#conn.commit();
      return recorded;
    } finally {
      await this.#close();
    }
  }

  async rollback(run: ImportRunSummary): Promise<void> {
    try {
      await this.#pending.catch(() => undefined); // the import failed already; its reason is the run's error
      await this.#conn.rollback();
      await this.#firstLoad?.discard();
      await this.#recordRun(run);
    } finally {
      await this.#close();
    }
  }

  async discard(): Promise<void> {
    try {
      await this.#pending.catch(() => undefined); // a failed write is the dry run's error, already reported
      await this.#conn.rollback();
      await this.#firstLoad?.discard();
    } finally {
      await this.#close();
    }
  }

  /** Stages the records in import_gone whole (as it copied them), a page at a time in key order (the connection runs one statement at a time). */
  async #stageRemoved(): Promise<void> {
    let after: KeyRow | undefined;
    for (;;) {
      const page = await this.#conn.query<(KeyRow & ReplacedRow)[]>(
        `SELECT CAST(g.ip AS BINARY(16)) AS ip, g.prefix_len, g.context, g.label_ids, UNIX_TIMESTAMP(g.last_updated) AS last_updated
           FROM import_gone g ${after ? `WHERE ${afterKeySql('g')}` : ''}
          ORDER BY g.ip, g.prefix_len LIMIT ${GONE_PAGE}`,
        after ? afterKeyValues(after) : [],
      );
      if (page.length === 0) return;
      await this.#conn.batch(
        STAGE_HISTORY_SQL,
        page.map((row) => [row.ip, row.prefix_len, encodeState(row.context, null), row.label_ids, row.last_updated]),
      );
      after = page.at(-1);
    }
  }

  /**
   * Files the staged states under the run's feed day (never before the feed's latest), re-takes
   * states filed earlier the same day against today's records, and prunes the feed's states
   * that no kept day needs. Answers the day the run is filed under.
   */
  async #fileHistory(runDay: FeedDay): Promise<FeedDay> {
    const [row] = await this.#conn.execute<{ day: number | null }[]>(LATEST_DATA_DAY_SQL, [this.#feedId]);
    const latest = row?.day ?? 0;
    const day = Math.max(runDay, latest);
    if (this.#historyDays <= 0) return day;
    if (latest === day) await this.#restateSameDay(day);
    await this.#conn.query(fileHistorySql('IGNORE'), [this.#feedId, day]);
    await this.#journalKeys(day);
    await this.#prune(addDays(day, -(this.#historyDays - 1)));
    return day;
  }

  /**
   * Only a second import of the day finds states filed under it: they are re-taken a page at a
   * time in key order, each page's in one bulk command (realtime slots re-take many states a
   * day: a round trip each would be seconds).
   */
  async #restateSameDay(day: FeedDay): Promise<void> {
    let after: KeyRow | undefined;
    for (;;) {
      const page = await this.#conn.query<(KeyRow & { staged: Buffer | null; kept: Buffer; next: string | null })[]>(
        after ? MARIADB_SAME_DAY_SQL.after : MARIADB_SAME_DAY_SQL.first,
        after ? [this.#feedId, day, ...afterKeyValues(after)] : [this.#feedId, day],
      );
      const restated = page.flatMap((row) => {
        const state = restate(row.kept, row.staged, row.next);
        return state === row.kept ? [] : [[state, row.ip, row.prefix_len, this.#feedId, day]];
      });
      if (restated.length) await this.#conn.batch(RESTATE_SQL, restated);
      if (page.length < SAME_DAY_PAGE) return;
      after = page.at(-1);
    }
  }

  /** Journals the keys filed today, a part at a time in key order (history/key-journal.ts). */
  async #journalKeys(day: FeedDay): Promise<void> {
    let after: HistoryKey | undefined;
    for (;;) {
      const keys = await this.#conn.query<HistoryKey[]>(
        `SELECT CAST(s.ip AS BINARY(16)) AS ip, s.prefix_len FROM import_history s
          ${after ? `WHERE ${afterKeySql('s')}` : ''} ORDER BY s.ip, s.prefix_len LIMIT ${KEYS_PER_PART}`,
        after ? afterKeyValues(after) : [],
      );
      if (keys.length === 0) return;
      await this.#conn.execute(JOURNAL_KEYS_SQL, [this.#feedId, day, encodeKeys(keys), this.#feedId, day]);
      after = keys.at(-1);
    }
  }

  /** Deletes the states filed on or before `last`, day by day as the journal lists them: the window's first day needs only the states that ended after it. */
  async #prune(last: FeedDay): Promise<void> {
    const days = await this.#conn.query<{ ended_on: number; key_list: Buffer }[]>(PRUNABLE_KEYS_SQL, [this.#feedId, last]);
    for (const { ended_on, key_list } of days) {
      const rows = decodeKeys(key_list).map((key) => [key.ip, key.prefix_len, this.#feedId, ended_on]);
      if (rows.length) await this.#conn.batch(PRUNE_STATE_SQL, rows);
    }
    await this.#conn.execute(PRUNE_JOURNAL_SQL, [this.#feedId, last]);
  }

  /**
   * Into import_gone, the unseen records of each fingerprint's hash range: many ranges per
   * statement, which InnoDB reads as that many ranges of ip_data_hash (bulk commands cannot
   * carry INSERT … SELECT).
   */
  async #collectUnmatched(fingerprints: Iterable<Buffer>): Promise<void> {
    let ranges: Buffer[][] = [];
    const flush = async (): Promise<void> => {
      await this.#conn.execute(collectUnmatchedSql(ranges.length), [this.#feedId, ...ranges.flat()]);
      ranges = [];
    };
    for (const fingerprint of fingerprints) {
      ranges.push(hashRange(fingerprint));
      if (ranges.length === UNMATCHED_BATCH) await flush();
    }
    if (ranges.length) await flush();
  }

  /** Columns of the records' stored rows (those that are stored), read by their keys. */
  async #storedRows<Row>(columns: keyof typeof STORED_COLUMNS, records: LoadRecord[]): Promise<(KeyRow & Row)[]> {
    const addresses = addressList(records);
    const rows = await this.#conn.query<(KeyRow & Row)[]>(storedColumnSql(columns, records.length), [this.#feedId, ...addresses.values]);
    const wanted = new Set(records.map((r) => recordKey(r.address)));
    return rows.filter((row) => wanted.has(rowKey(row)));
  }

  #dataValues(record: LoadRecord, labelIds: string, now: Date): unknown[] {
    return [record.address.text, record.json, labelIds, record.hash, unixSeconds(now)];
  }

  /** Each record's label ids; creates the labels new to the store. */
  async #labelIdLists(records: LoadRecord[]): Promise<number[][]> {
    await this.#labels.resolve(records.map((r) => r.labels));
    return records.map((r) => r.labels.map((label) => this.#labels.id(label)));
  }

  /**
   * Sends a bulk write once the writes before it are done. The connector prepares a new
   * statement before it sends it, so two batches sent at once can reach the server in the
   * wrong order (label rows inserted before the old ones were deleted): only a chain keeps
   * them in order. After a failed write, the rest of the chain is not sent.
   */
  #send(sql: string, rows: unknown[][]): void {
    const pending = this.#pending.then(() => this.#conn.batch(sql, rows));
    pending.catch(() => undefined); // observed by #settle, not unhandled
    this.#pending = pending;
  }

  async #settle(): Promise<void> {
    await this.#pending;
  }

  /** The feed's network lengths, for lookups' containment probes; committed with the data. */
  async #storeLengths(): Promise<void> {
    const { add, check } = this.#lengths.result();
    for (const length of check) {
      const held = await this.#conn.execute<unknown[]>(HOLDS_LENGTH_SQL, [this.#feedId, length, this.#feedId, length]);
      if (held.length === 0)
        await this.#conn.execute('DELETE FROM network_length WHERE feed_id = ? AND prefix_len = ?', [this.#feedId, length]);
    }
    if (add.length === 0) return;
    await this.#conn.batch(
      'INSERT IGNORE INTO network_length (feed_id, prefix_len) VALUES (?, ?)',
      add.map((length) => [this.#feedId, length]),
    );
  }

  /** Records the run; answers its id. */
  async #recordRun(run: ImportRunSummary, day?: FeedDay): Promise<number> {
    const result = await this.#conn.execute<UpsertResult>(
      `INSERT INTO import_run (${RUN_INSERT_COLUMNS})
       VALUES (?, ?, ?, ?, ?, FROM_UNIXTIME(?), FROM_UNIXTIME(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?))`,
      runValues(run, day, this.#historyDays > 0),
    );
    return Number(result.insertId);
  }

  async #keepSlotKeys(run: ImportRunSummary, runId: number, slotKeys: readonly HistoryKey[] | undefined): Promise<void> {
    if (run.kind === 'full') await this.#conn.execute(DELETE_SLOT_KEYS_SQL, [this.#feedId, this.#feedId, runId]);
    else if (slotKeys)
      for (const [part, keys] of slotKeyParts(slotKeys).entries())
        await this.#conn.execute(INSERT_SLOT_KEYS_SQL, [runId, part, this.#feedId, keys]);
  }

  /**
   * Releases the import lock, then ends the session (which drops the temporary tables). The
   * server would free the lock with the session, but only a moment after end() returns: an
   * import started right after this one could find it still held.
   */
  async #close(): Promise<void> {
    try {
      await this.#conn.query('SELECT RELEASE_LOCK(?)', [this.#lock]);
      await this.#conn.end();
    } catch {
      this.#conn.destroy(); // the session is gone already, and its lock with it
    }
  }
}
