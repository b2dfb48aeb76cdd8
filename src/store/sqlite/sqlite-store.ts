import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { IpoidError } from '../../errors.ts';
import type { CanonicalIp } from '../../feed/ip.ts';
import { encodeCursor } from '../cursor.ts';
import { keysetPage } from '../page.ts';
import { changedKeysSql, countedSql, countLimit, DATA_DAYS_SQL, importRunsSql, LABEL_COUNTS_SQL, LABELS_SQL } from '../shared-sql.ts';
import { groupKeys, type KeyedPastRow } from '../../history/timeline.ts';
import { DataDaysCache, LATEST_RUN_SQL, type DataDay, type DataDayRow } from '../../history/window.ts';
import { FEED_IDS, FEED_TYPES, type FeedType } from '../../feed/feed-types.ts';
import {
  type AddressPast,
  type ChangedKeysPage,
  type ChangedKeysQuery,
  DEFAULT_HISTORY_DAYS,
  type FeedStatus,
  type ImportRun,
  type ImportStatus,
  type ImportTransaction,
  type RunKind,
  type LabelCount,
  type PrefixDensity,
  type PrefixQuery,
  type StoredLabel,
  type ListPage,
  type LabelFilter,
  type ListFilter,
  type ListQuery,
  ReadOnlyStoreError,
  type Store,
  type StoredRecord,
  type StoreOptions,
  type RunsQuery,
  type ChangeVisitor,
} from '../types.ts';
import { toImportRun, type DataRow, type RunRow } from '../rows.ts';
import { containingRecords, probePlan, probeStarts } from '../containment.ts';
import { SqliteImport } from './sqlite-import.ts';
import { DAY_KEY_LISTS_SQL, keyListsOf, PATCH_RUNS_SQL, PatchKeys, patchPlan, SLOT_KEY_LISTS_SQL, type PatchRun } from '../patch-keys.ts';
import { holdsNoData } from './sqlite-first-load.ts';
import { checkSchema, migrate } from './sqlite-migrations.ts';
import { ContextCodec } from './sqlite-context-codec.ts';

import { PrefixTally, type PrefixGroup } from '../prefix-density.ts';
import { RECORD_COLUMNS, recordColumns, sqliteListQuery, sqlitePrefixQueries } from './sqlite-list-query.ts';

/** The stored network lengths, for containment probes (a few rows). */
export const SQLITE_LENGTHS_SQL = 'SELECT DISTINCT prefix_len FROM network_length';

/** The records starting at one probe start: a range of the ip_data_key index. */
export const SQLITE_PROBE_SQL = `SELECT ${RECORD_COLUMNS} FROM ip_data d WHERE d.ip = ?`;

/** A key's past rows, oldest first within each key: a range of ip_history's primary key. */
export const SQLITE_PAST_SQL = `SELECT ip, prefix_len, feed_id, ended_on, state, label_ids, last_updated FROM ip_history
  WHERE ip = ? ORDER BY prefix_len, feed_id, ended_on`;

/** A page of changed keys (shared-sql.ts), with SQLite's row-value keyset. */
export const sqliteChangedKeysSql = (query: ChangedKeysQuery) =>
  changedKeysSql(query, 'ip', (after) => ({
    sql: '(ip, prefix_len, feed_id) > (?, ?, ?)',
    values: [after.ip, after.prefixLen, after.feedId],
  }));

interface KeyRow {
  ip: Buffer;
  prefix_len: number;
  feed_id: number;
}

/** An import into the empty store writes the file directly (SqliteStore.#leaveWal) and holds it until it ends. */
export class StoreLoadingError extends IpoidError {
  constructor(path: string) {
    super('IMPORT_LOCKED', `an import is loading the empty store ${path} and holds the file until it ends; try again when it has finished`);
  }
}

/** A killed direct first load left its rollback journal, which only a read-write open can roll back. */
export class KilledLoadError extends IpoidError {
  constructor(path: string) {
    super(
      'STORE_UNAVAILABLE',
      `${path} holds the rollback journal of an import killed while it loaded the empty store, which a read-only open cannot roll back: ` +
        'open the store read-write once (the next `ipoid import`, or `ipoid serve` without IPOID_DB_READ_URL)',
    );
  }
}

/** How long a statement waits for a lock another connection holds (ms). */
const BUSY_TIMEOUT_MS = 5000;

/**
 * The embedded store: one SQLite file in WAL mode, so readers never wait for an import
 * (but for the first one into an empty file that no one else has open: see #leaveWal).
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #readOnly: boolean;
  readonly #labelId: Database.Statement<[string, string], { id: number }>;
  /** Each a read transaction, prepared once: one snapshot for all it reads. */
  readonly #readLookups: (addresses: readonly CanonicalIp[]) => StoredRecord[][];
  readonly #readFeedStatus: () => FeedStatus[];
  readonly #readAll: (visit: (row: DataRow) => void) => FeedStatus[];
  readonly #readChanges: (since: readonly FeedStatus[], maxKeys: number, visitor: ChangeVisitor) => FeedStatus[] | null;
  readonly #readPast: (address: CanonicalIp) => AddressPast;
  readonly #readChanged: (keys: Database.Statement<unknown[], KeyRow>, params: unknown[], since: number, limit: number) => ChangedKeysPage;
  /** Inside a read transaction: the data days of its snapshot. */
  readonly #readDataDays: () => DataDay[];
  readonly historyDays: number;

  constructor(path: string, options: StoreOptions = {}) {
    this.#path = path;
    this.#readOnly = options.readOnly ?? false;
    this.historyDays = options.historyDays ?? DEFAULT_HISTORY_DAYS;
    if (!options.readOnly) mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path, { readonly: options.readOnly ?? false, fileMustExist: options.readOnly ?? false });
    this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    try {
      if (!options.readOnly) {
        this.#enterWal();
        this.#db.pragma('synchronous = NORMAL');
        migrate(this.#db);
      } else {
        checkSchema(this.#db, path);
      }
    } catch (err) {
      this.#db.close();
      // Only a rollback journal's holder keeps readers out for longer than the busy timeout: a direct first load.
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_BUSY' && existsSync(`${path}-journal`)) throw new StoreLoadingError(path);
      if (code === 'SQLITE_READONLY_ROLLBACK') throw new KilledLoadError(path);
      throw err;
    }
    const contexts = new ContextCodec(this.#db, path);
    this.#labelId = this.#db.prepare('SELECT id FROM label WHERE kind = ? AND value = ?');

    const lengths = this.#db.prepare<[], number>(SQLITE_LENGTHS_SQL).pluck();
    const probe = this.#db.prepare<[Buffer], DataRow>(SQLITE_PROBE_SQL);
    // The lengths and every probe come from the same snapshot.
    this.#readLookups = this.#db.transaction((addresses: readonly CanonicalIp[]) => {
      const plan = probePlan(addresses, lengths.all());
      return containingRecords(
        plan.distinct.flatMap((start) => probe.all(start)),
        addresses,
        plan,
      );
    });

    const dataDays = this.#db.prepare<[], DataDayRow>(DATA_DAYS_SQL);
    const latestRun = this.#db.prepare<[], number | null>(LATEST_RUN_SQL).pluck();
    const cache = new DataDaysCache();
    this.#readDataDays = () => {
      const latest = latestRun.get() ?? null;
      if (!cache.holds(latest)) cache.keep(latest, dataDays.all());
      return cache.days;
    };
    const current = this.#db.prepare<[Buffer], DataRow & { label_ids: string }>(
      `SELECT ${RECORD_COLUMNS}, d.label_ids FROM ip_data d WHERE d.ip = ?`,
    );
    const past = this.#db.prepare<[Buffer], KeyedPastRow>(SQLITE_PAST_SQL);
    const keyCurrent = this.#db.prepare<[Buffer, number, number], DataRow & { label_ids: string }>(
      `SELECT ${RECORD_COLUMNS}, d.label_ids FROM ip_data d WHERE d.ip = ? AND d.prefix_len = ? AND d.feed_id = ?`,
    );
    const keyPast = this.#db.prepare<[Buffer, number, number, number], KeyedPastRow>(
      `SELECT ip, prefix_len, feed_id, ended_on, state, label_ids, last_updated FROM ip_history
        WHERE ip = ? AND prefix_len = ? AND feed_id = ? AND ended_on > ? ORDER BY ended_on`,
    );
    this.#readChanged = this.#db.transaction(
      (keys: Database.Statement<unknown[], KeyRow>, params: unknown[], since: number, limit: number): ChangedKeysPage => {
        const rows = keys.all(...params);
        const page = rows.slice(0, limit);
        const last = page.at(-1);
        return {
          keys: page.map((key) => ({
            feedId: key.feed_id,
            ip: key.ip,
            prefixLen: key.prefix_len,
            current: keyCurrent.get(key.ip, key.prefix_len, key.feed_id) ?? null,
            past: keyPast.all(key.ip, key.prefix_len, key.feed_id, since),
          })),
          next: rows.length > limit && last ? encodeCursor({ ip: last.ip, prefixLen: last.prefix_len, feedId: last.feed_id }) : undefined,
        };
      },
    );
    this.#readPast = this.#db.transaction((address: CanonicalIp) => {
      const starts = probeStarts(address, lengths.all());
      return {
        days: this.#readDataDays(),
        keys: groupKeys(
          starts.flatMap((start) => current.all(start)),
          starts.flatMap((start) => past.all(start)),
        ),
      };
    });

    // Each one descent of import_run_feed_kind (feed_id, kind, status, id).
    const latestOf = (kind: RunKind, status: ImportStatus) =>
      this.#db.prepare<[number, number], RunRow>(
        `SELECT * FROM import_run WHERE feed_id = ? AND kind = '${kind}' AND status = '${status}' AND id > ? ORDER BY id DESC LIMIT 1`,
      );
    const latest = latestOf('full', 'succeeded');
    const refusedSince = latestOf('full', 'refused');
    const realtime = latestOf('realtime', 'succeeded');
    const run = (row: RunRow | undefined) => (row ? toImportRun(row) : null);
    this.#readFeedStatus = this.#db.transaction(() =>
      FEED_TYPES.map((feed) => {
        const row = latest.get(FEED_IDS[feed], 0);
        const since = row?.id ?? 0;
        return {
          feed,
          lastImport: run(row),
          lastRealtime: run(realtime.get(FEED_IDS[feed], 0)),
          lastRefused: run(refusedSince.get(FEED_IDS[feed], since)),
        };
      }),
    );
    // The whole store (a lookup index's build): each JSON decoded here, not handed through SQLite as text and back.
    const all = this.#db.prepare<[], Omit<DataRow, 'context'> & { context: string | Buffer }>(
      `SELECT ${recordColumns('d.context')} FROM ip_data d ORDER BY d.ip, d.prefix_len, d.feed_id`,
    );
    this.#readAll = this.#db.transaction((visit: (row: DataRow) => void) => {
      const statuses = this.#readFeedStatus();
      for (const row of all.iterate()) {
        if (typeof row.context !== 'string') row.context = contexts.decode(row.context);
        visit(row as DataRow);
      }
      return statuses;
    });
    const runs = this.#db.prepare<[number, number], PatchRun>(PATCH_RUNS_SQL);
    const keyLists = new Map(
      [SLOT_KEY_LISTS_SQL, DAY_KEY_LISTS_SQL].map((sql) => [sql, this.#db.prepare<number[], { key_list: Buffer }>(sql)]),
    );
    const byKey = this.#db.prepare<[Buffer, number, number], Omit<DataRow, 'context'> & { context: string | Buffer }>(
      `SELECT ${recordColumns('d.context')} FROM ip_data d WHERE d.ip = ? AND d.prefix_len = ? AND d.feed_id = ?`,
    );
    this.#readChanges = this.#db.transaction((since: readonly FeedStatus[], maxKeys: number, visitor: ChangeVisitor) => {
      const statuses = this.#readFeedStatus();
      const keys = new PatchKeys(maxKeys);
      for (const { feedId, after } of patchPlan(since, statuses)) {
        for (const run of runs.all(feedId, after)) {
          const [sql, params] = keyListsOf(feedId, run);
          if (!keys.add(feedId, run, keyLists.get(sql)!.all(...params))) return null;
        }
      }
      for (const key of keys.inKeyOrder()) {
        const row = byKey.get(key.ip, key.prefix_len, key.feed_id);
        if (!row) visitor.gone(key);
        else {
          if (typeof row.context !== 'string') row.context = contexts.decode(row.context);
          visitor.record(row as DataRow);
        }
      }
      return statuses;
    });
  }

  get url(): string {
    return `sqlite:${this.#path}`;
  }

  async lookup(address: CanonicalIp): Promise<StoredRecord[]> {
    return (await this.lookupMany([address]))[0]!;
  }

  async lookupMany(addresses: CanonicalIp[]): Promise<StoredRecord[][]> {
    return this.#readLookups(addresses);
  }

  async list(query: ListQuery): Promise<ListPage> {
    const labelIds = this.#labelIds(query.labels);
    if (!labelIds) return { records: [] };
    const { sql, params } = sqliteListQuery(labelIds, query);
    return keysetPage(this.#db.prepare<unknown[], DataRow>(sql).all(...params), query.limit);
  }

  async countListed(filter: ListFilter, atMost: number): Promise<number> {
    const labelIds = this.#labelIds(filter.labels);
    if (!labelIds) return 0;
    const { sql, params } = sqliteListQuery(labelIds, { ...filter, limit: countLimit(atMost) }, '1');
    return this.#db
      .prepare<unknown[], number>(countedSql(sql))
      .pluck()
      .get(...params)!;
  }

  async prefixes(query: PrefixQuery): Promise<PrefixDensity[]> {
    const labelIds = this.#labelIds(query.labels);
    if (!labelIds) return [];
    const { grouping, groups, labels } = sqlitePrefixQueries(labelIds, query);
    const read = this.#db.transaction(() => {
      const tally = new PrefixTally(grouping, this.#db.prepare<unknown[], PrefixGroup>(groups.sql).all(...groups.params));
      const labelIdsIn = this.#db.prepare<unknown[], string>(labels.sql).pluck();
      for (const { first, last, group } of tally.ranges()) {
        for (const ids of labelIdsIn.iterate(...labels.params(first, last))) tally.add(group.head, group.tail, ids);
      }
      return tally.result(this.#db.prepare<[], StoredLabel>(LABELS_SQL).all());
    });
    return read();
  }

  /** The labels' ids; undefined when one is unknown, so that nothing matches. */
  #labelIds(labels: readonly LabelFilter[]): number[] | undefined {
    const ids: number[] = [];
    for (const { kind, value } of labels) {
      const row = this.#labelId.get(kind, value);
      if (!row) return undefined;
      ids.push(row.id);
    }
    return ids;
  }

  async labels(): Promise<StoredLabel[]> {
    return this.#db.prepare<[], StoredLabel>(LABELS_SQL).all();
  }

  async labelCounts(): Promise<LabelCount[]> {
    return this.#db.prepare<[], LabelCount>(LABEL_COUNTS_SQL).all();
  }

  async importRuns(query: RunsQuery): Promise<ImportRun[]> {
    const { sql, values } = importRunsSql('r.*', query);
    return this.#db
      .prepare<unknown[], RunRow>(sql)
      .all(...values)
      .map(toImportRun);
  }

  async scanRecords(visit: (row: DataRow) => void): Promise<FeedStatus[]> {
    return this.#readAll(visit);
  }

  async scanChanges(since: readonly FeedStatus[], maxKeys: number, visitor: ChangeVisitor): Promise<FeedStatus[] | null> {
    return this.#readChanges(since, maxKeys, visitor);
  }

  async feedStatus(): Promise<FeedStatus[]> {
    return this.#readFeedStatus();
  }

  async dataDays(): Promise<DataDay[]> {
    return this.#db.transaction(this.#readDataDays)();
  }

  async pastOf(address: CanonicalIp): Promise<AddressPast> {
    return this.#readPast(address);
  }

  async changedKeys(query: ChangedKeysQuery): Promise<ChangedKeysPage> {
    const { sql, values } = sqliteChangedKeysSql(query);
    return this.#readChanged(this.#db.prepare<unknown[], KeyRow>(sql), values, query.since, query.limit);
  }

  async beginImport(feed: FeedType): Promise<ImportTransaction> {
    // Imports write through a connection of their own: the read-only handle would not stop them.
    if (this.#readOnly) throw new ReadOnlyStoreError();
    const direct = this.#leaveWal();
    try {
      return SqliteImport.begin(this.#path, FEED_IDS[feed], this.historyDays, direct);
    } catch (err) {
      if (direct) this.#enterWal();
      throw err;
    }
  }

  /**
   * WAL mode, unless an import writing an empty store directly holds the file: that import
   * returns it to WAL mode when it ends (no waiting for it: it lasts as long as the load).
   */
  #enterWal(): void {
    this.#switchJournal('wal');
  }

  /**
   * Takes the file out of WAL mode for an import into a store that holds no data, when no
   * other connection has it open (each holds WAL mode in place): the import then writes the
   * database once instead of twice (SqliteImport). Once the import writes pages out it holds
   * the file: a process opening the store is refused until it ends (StoreLoadingError).
   * Answers whether the file left WAL mode.
   */
  #leaveWal(): boolean {
    return holdsNoData(this.#db) && this.#switchJournal('delete');
  }

  /** Sets the file's journal mode without waiting for a lock; answers whether it is now `mode` (false: another connection held the file). */
  #switchJournal(mode: 'wal' | 'delete'): boolean {
    this.#db.pragma('busy_timeout = 0');
    try {
      return this.#db.pragma(`journal_mode = ${mode}`, { simple: true }) === mode;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return false;
      throw err;
    } finally {
      this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
