import mariadb, { type Pool, type PoolConnection } from 'mariadb';
import type { CanonicalIp } from '../../feed/ip.ts';
import { encodeCursor } from '../cursor.ts';
import { containingRecords, parseLengths, probePlan, probeStarts } from '../containment.ts';
import { keysetPage } from '../page.ts';
import { checkSchemaVersion, SCHEMA_VERSION_SQL } from '../schema-version.ts';
import { changedKeysSql, countedSql, countLimit, DATA_DAYS_SQL, importRunsSql, LABEL_COUNTS_SQL, LABELS_SQL } from '../shared-sql.ts';
import { groupKeys, keyId, type KeyedPastRow } from '../../history/timeline.ts';
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
  type RunKind,
  type ImportTransaction,
  type LabelCount,
  type PrefixDensity,
  type PrefixQuery,
  type StoredLabel,
  type ListPage,
  type ListFilter,
  type ListQuery,
  ReadOnlyStoreError,
  type Store,
  type StoredRecord,
  type StoreOptions,
  type RunsQuery,
  type ChangeVisitor,
} from '../types.ts';
import { connect, connectionOptions, type ConnectionOptions } from './mariadb-connection.ts';
import { toImportRun, type DataRow, type RunRow } from '../rows.ts';
import { PrefixTally, type PrefixGroup } from '../prefix-density.ts';
import { listQuery, PREFIXES_PER_LABEL_READ, prefixQueries } from './mariadb-list-query.ts';
import { MariadbImport } from './mariadb-import.ts';
import { keyListsOf, PATCH_RUNS_SQL, PatchKeys, patchPlan, visitKeys, type PatchRun } from '../patch-keys.ts';
import { MARIADB_MIGRATIONS, migrate } from './mariadb-migrations.ts';

// INET6 reads as text; the API and the cursor want the 16 bytes.
export const RECORD_COLUMNS =
  'CAST(d.ip AS BINARY(16)) AS ip, d.prefix_len, d.feed_id, d.ip_text, d.context, UNIX_TIMESTAMP(d.last_updated) AS last_updated';

/** The stored network lengths, as one text (see lookupSql for the CAST). */
const LENGTHS_SQL = 'SELECT CAST(GROUP_CONCAT(DISTINCT prefix_len ORDER BY prefix_len) AS CHAR(512)) AS lengths FROM network_length';

/**
 * One lookup statement for `starts` probe starts (see store/containment.ts): every record
 * starting at one of them, each a range of the primary key, plus the stored network lengths
 * as of the same snapshot, so that the caller knows whether it probed all of them. The
 * one-row derived table keeps the lengths there when no record matches. One statement is
 * one InnoDB snapshot: never half an import. The CAST keeps that table a VARCHAR one (at
 * most 128 lengths of 3 digits): a GROUP_CONCAT is a BLOB, whose internal temporary table
 * MariaDB 10.11 keeps in Aria, and a server was seen to crash freeing one under load.
 */
export function lookupSql(starts: number): string {
  return `SELECT ${RECORD_COLUMNS}, n.lengths
    FROM (${LENGTHS_SQL}) n
    LEFT JOIN ip_data d ON d.ip IN (${Array.from({ length: starts }, () => '?').join(', ')})`;
}

// Probe lists are padded to a power of two (repeating the last start), so that the
// connector's per-connection prepare cache holds a few statement texts, not one per size.
const MIN_PROBES = 4;
// Far above a batch of 1,000 addresses in feeds with a dozen network lengths; a longer
// list is split over several statements in one consistent-snapshot transaction.
const MAX_PROBES = 16_384;
// A lookup runs again when an import added a network length meanwhile; more than a few
// rounds in a row means imports keep changing them, which they do once a day.
const MAX_LOOKUP_ROUNDS = 5;

function paddedSize(count: number): number {
  let size = MIN_PROBES;
  while (size < count) size *= 2;
  return size;
}

type LookupRow = DataRow & { lengths: string | null };

// Columns named through `h`: an unqualified ORDER BY ip would sort by the select list's CAST.
const PAST_SQL = `SELECT CAST(h.ip AS BINARY(16)) AS ip, h.prefix_len, h.feed_id, h.ended_on, h.state, h.label_ids,
  UNIX_TIMESTAMP(h.last_updated) AS last_updated FROM ip_history h`;
const PAST_ORDER = 'ORDER BY h.ip, h.prefix_len, h.feed_id, h.ended_on'; // the primary key's order

/** A page of changed keys (shared-sql.ts); the keyset spelled out, not a row comparison, so that it becomes a range of the primary key. */
export const mariadbChangedKeysSql = (query: ChangedKeysQuery) =>
  changedKeysSql(query, 'CAST(h.ip AS BINARY(16))', (after) => ({
    sql: '(h.ip > ? OR (h.ip = ? AND (h.prefix_len > ? OR (h.prefix_len = ? AND h.feed_id > ?))))',
    values: [after.ip, after.ip, after.prefixLen, after.prefixLen, after.feedId],
  }));

interface KeyRow {
  ip: Buffer;
  prefix_len: number;
  feed_id: number;
}

const RUN_COLUMNS = `r.id, r.feed_id, r.kind, UNIX_TIMESTAMP(r.slot) AS slot, DATE_FORMAT(r.feed_date, '%Y-%m-%d') AS feed_date, r.data_date, r.file,
  UNIX_TIMESTAMP(r.started_at) AS started_at, UNIX_TIMESTAMP(r.finished_at) AS finished_at,
  r.lines_read, r.lines_skipped, r.inserted, r.updated, r.deleted, r.records, r.status, r.error, r.skipped_sample`;

// Every feed with its latest successful full run, if any, its latest realtime run, and its
// latest refused run when newer than the full one: one statement, so one snapshot. Each MAX
// is one dive into import_run_feed_kind (feed_id, kind, status, id).
const latestRunId = (kind: RunKind, status: ImportStatus) =>
  `(SELECT MAX(s.id) FROM import_run s WHERE s.feed_id = f.id AND s.kind = '${kind}' AND s.status = '${status}')`;
const latestRun = (role: FeedRunRole, kind: RunKind, status: ImportStatus, newerThanFull: boolean) => `
  SELECT '${role}' AS role, f.id AS feed, ${RUN_COLUMNS}
    FROM feed f
    STRAIGHT_JOIN import_run r ON r.id = ${latestRunId(kind, status)} -- feeds first, then a primary-key lookup
   ${newerThanFull ? `WHERE r.id > COALESCE(${latestRunId('full', 'succeeded')}, 0)` : ''}`;
const FEED_STATUS_SQL = `
  SELECT 'full' AS role, f.id AS feed, ${RUN_COLUMNS}
    FROM feed f
    LEFT JOIN import_run r ON r.id = ${latestRunId('full', 'succeeded')}
  UNION ALL ${latestRun('realtime', 'realtime', 'succeeded', false)}
  UNION ALL ${latestRun('refused', 'full', 'refused', true)}`;
/** Which of a feed's runs a row of FEED_STATUS_SQL is. */
type FeedRunRole = 'full' | 'realtime' | 'refused';

// MediaWiki gives IPoid one second and the API's store guard fails a lookup after 800 ms:
// with the server down or every connection busy that long, a read fails (503) rather than
// queueing past the client's patience. Each lookup or batch holds a connection for one
// statement, so a wait that long means the pool is far too small for the load.
const READ_POOL = { acquireTimeout: 700, connectTimeout: 500 } as const;
// Each lookup or batch holds a connection for one statement: 20 serve 20 clients at once
// without queueing, and a few API replicas of 20 stay far below MariaDB's 151 connections.
const DEFAULT_POOL_SIZE = 20;

/**
 * The MariaDB store: reads through a connection pool, each one SQL statement so that it
 * sees one InnoDB snapshot (never half an import); imports on a dedicated connection.
 */
export class MariadbStore implements Store {
  readonly kind = 'mariadb' as const;
  readonly #pool: Pool;
  readonly #options: ConnectionOptions;
  readonly #readOnly: boolean;
  readonly historyDays: number;
  readonly #dataDays = new DataDaysCache();
  /** The network lengths the last lookup found stored; lookups probe these. */
  #lengths: number[] = [];

  static async open(url: string, options: StoreOptions = {}): Promise<MariadbStore> {
    const connection = connectionOptions(url);
    if (options.readOnly) await checkSchema(connection);
    else await prepareDatabase(connection);
    return new MariadbStore(url, connection, options);
  }

  private constructor(
    readonly url: string,
    options: ConnectionOptions,
    { readOnly = false, poolSize = DEFAULT_POOL_SIZE, historyDays }: StoreOptions,
  ) {
    this.#options = options;
    this.#readOnly = readOnly;
    this.historyDays = historyDays ?? DEFAULT_HISTORY_DAYS;
    this.#pool = mariadb.createPool({ ...options, ...READ_POOL, connectionLimit: poolSize });
  }

  async lookup(address: CanonicalIp): Promise<StoredRecord[]> {
    return (await this.lookupMany([address]))[0]!;
  }

  async lookupMany(addresses: CanonicalIp[]): Promise<StoredRecord[][]> {
    if (addresses.length === 0) return [];
    for (let round = 1; ; round++) {
      const probed = this.#lengths;
      const plan = probePlan(addresses, probed);
      const { rows, lengths } = await this.#probe(plan.distinct);
      this.#lengths = lengths;
      // Probing more lengths than stored is harmless; one missed means networks went unseen.
      if (lengths.every((length) => probed.includes(length))) return containingRecords(rows, addresses, plan);
      if (round === MAX_LOOKUP_ROUNDS) throw new Error(`the stored network lengths changed during ${round} lookups in a row`);
    }
  }

  /** The records starting at `starts`, and the stored network lengths, from one snapshot. */
  async #probe(starts: Buffer[]): Promise<{ rows: DataRow[]; lengths: number[] }> {
    if (starts.length <= MAX_PROBES) return probeResult([await this.#pool.execute<LookupRow[]>(...probeStatement(starts))]);
    return this.#inSnapshot(async (conn) => {
      const parts: LookupRow[][] = [];
      for (let i = 0; i < starts.length; i += MAX_PROBES)
        parts.push(await conn.execute<LookupRow[]>(...probeStatement(starts.slice(i, i + MAX_PROBES))));
      return probeResult(parts);
    });
  }

  async list(query: ListQuery): Promise<ListPage> {
    const { sql, values } = listQuery(query, RECORD_COLUMNS);
    return keysetPage(await this.#pool.execute<DataRow[]>(sql, values), query.limit);
  }

  async countListed(filter: ListFilter, atMost: number): Promise<number> {
    const { sql, values } = listQuery({ ...filter, limit: countLimit(atMost) }, '1');
    const [row] = await this.#pool.execute<{ n: number | bigint }[]>(countedSql(sql), values);
    return Number(row!.n);
  }

  async prefixes(query: PrefixQuery): Promise<PrefixDensity[]> {
    const { grouping, groups, labels } = prefixQueries(query);
    return this.#inSnapshot(async (conn) => {
      const tally = new PrefixTally(grouping, await conn.execute<PrefixGroup[]>(groups.sql, groups.values));
      const ranges = tally.ranges();
      for (let i = 0; i < ranges.length; i += PREFIXES_PER_LABEL_READ) {
        const part = ranges.slice(i, i + PREFIXES_PER_LABEL_READ);
        const read = labels(part.length);
        const rows = await conn.execute<{ head: Buffer; tail: number; label_ids: string }[]>(read.sql, [
          ...read.values,
          ...part.flatMap(({ first, last }) => [first, last]),
        ]);
        for (const row of rows) tally.add(row.head, row.tail, row.label_ids);
      }
      return tally.result(await conn.execute<StoredLabel[]>(LABELS_SQL));
    });
  }

  async labels(): Promise<StoredLabel[]> {
    const rows = await this.#pool.execute<StoredLabel[]>(LABELS_SQL);
    return rows.map(({ id, kind, value }) => ({ id, kind, value }));
  }

  async labelCounts(): Promise<LabelCount[]> {
    const rows = await this.#pool.execute<LabelCount[]>(LABEL_COUNTS_SQL);
    return rows.map(({ kind, value, count }) => ({ kind, value, count }));
  }

  async importRuns(query: RunsQuery): Promise<ImportRun[]> {
    const { sql, values } = importRunsSql(RUN_COLUMNS, query);
    const rows = await this.#pool.execute<RunRow[]>(sql, values);
    return rows.map(toImportRun);
  }

  /** Streams the whole table on a connection of its own, in the snapshot the feeds' status was read in. */
  async scanRecords(visit: (row: DataRow) => void): Promise<FeedStatus[]> {
    return this.#inSnapshot(async (conn) => {
      const statuses = await feedStatusOf(conn);
      for await (const row of conn.queryStream(SCAN_SQL) as AsyncIterable<DataRow>) visit(row);
      return statuses;
    });
  }

  /** The keys the runs since `since` wrote, then their records a chunk of keys at a time, all in one snapshot. */
  async scanChanges(since: readonly FeedStatus[], maxKeys: number, visitor: ChangeVisitor): Promise<FeedStatus[] | null> {
    return this.#inSnapshot(async (conn) => {
      const statuses = await feedStatusOf(conn);
      const keys = new PatchKeys(maxKeys);
      for (const { feedId, after } of patchPlan(since, statuses)) {
        for (const run of await conn.execute<PatchRun[]>(PATCH_RUNS_SQL, [feedId, after])) {
          const [sql, params] = keyListsOf(feedId, run);
          if (!keys.add(feedId, run, await conn.execute<{ key_list: Buffer }[]>(sql, params))) return null;
        }
      }
      const ordered = keys.inKeyOrder();
      for (let at = 0; at < ordered.length; at += KEYS_PER_READ) {
        // A short last chunk repeats its last address: one statement text for every chunk.
        const values = Array.from({ length: KEYS_PER_READ }, (_, i) => ordered[Math.min(at + i, ordered.length - 1)]!.ip);
        visitKeys(ordered.slice(at, at + KEYS_PER_READ), await conn.execute<DataRow[]>(KEYS_READ_SQL, values), visitor);
      }
      return statuses;
    });
  }

  async feedStatus(): Promise<FeedStatus[]> {
    return feedStatusOf(this.#pool);
  }

  async dataDays(): Promise<DataDay[]> {
    return this.#inSnapshot((conn) => this.#readDataDays(conn));
  }

  /** The data days of the connection's snapshot: read again only when an import run was added. */
  async #readDataDays(conn: PoolConnection): Promise<DataDay[]> {
    const [latest] = await conn.execute<{ id: number | null }[]>(LATEST_RUN_SQL);
    const id = latest?.id ?? null;
    if (!this.#dataDays.holds(id)) this.#dataDays.keep(id, await conn.execute<DataDayRow[]>(DATA_DAYS_SQL));
    return this.#dataDays.days;
  }

  /** In one read-only snapshot: the lengths, then what lies at each probe start, and the data days. */
  async pastOf(address: CanonicalIp): Promise<AddressPast> {
    return this.#inSnapshot(async (conn) => {
      const [lengths] = await conn.execute<{ lengths: string | null }[]>(LENGTHS_SQL);
      const starts = probeStarts(address, parseLengths(lengths?.lengths ?? null));
      const at = starts.map(() => '?').join(', ');
      const current = await conn.execute<(DataRow & { label_ids: string })[]>(
        `SELECT ${RECORD_COLUMNS}, d.label_ids FROM ip_data d WHERE d.ip IN (${at})`,
        starts,
      );
      const past = await conn.execute<KeyedPastRow[]>(`${PAST_SQL} WHERE h.ip IN (${at}) ${PAST_ORDER}`, starts);
      return { days: await this.#readDataDays(conn), keys: groupKeys(current, past) };
    });
  }

  async changedKeys(query: ChangedKeysQuery): Promise<ChangedKeysPage> {
    const { sql, values } = mariadbChangedKeysSql(query);
    return this.#inSnapshot(async (conn) => {
      const rows = await conn.execute<KeyRow[]>(sql, values);
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      const next =
        rows.length > query.limit && last ? encodeCursor({ ip: last.ip, prefixLen: last.prefix_len, feedId: last.feed_id }) : undefined;
      if (page.length === 0) return { keys: [], next };
      const at = page.map(() => '?').join(', ');
      const addresses = page.map((key) => key.ip);
      const current = await conn.execute<(DataRow & { label_ids: string })[]>(
        `SELECT ${RECORD_COLUMNS}, d.label_ids FROM ip_data d WHERE d.ip IN (${at})`,
        addresses,
      );
      const past = await conn.execute<KeyedPastRow[]>(`${PAST_SQL} WHERE h.ip IN (${at}) AND h.ended_on > ? ${PAST_ORDER}`, [
        ...addresses,
        query.since,
      ]);
      // In the page's key order; the addresses' other keys (another prefix or feed) came along and are left out.
      const read = new Map(groupKeys(current, past).map((key) => [keyId(key.feedId, key.ip, key.prefixLen), key]));
      return { keys: page.map((key) => read.get(keyId(key.feed_id, key.ip, key.prefix_len))!), next };
    });
  }

  /** `read` on one connection, in one read-only snapshot. */
  async #inSnapshot<T>(read: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.#pool.getConnection();
    try {
      // A consistent snapshot exists only under REPEATABLE READ: a server whose default is READ COMMITTED would read each statement anew.
      await conn.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      const result = await read(conn);
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => {});
      throw err;
    } finally {
      await conn.release();
    }
  }

  async beginImport(feed: FeedType): Promise<ImportTransaction> {
    if (this.#readOnly) throw new ReadOnlyStoreError();
    return MariadbImport.begin(this.#options, FEED_IDS[feed], this.historyDays);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** Every feed's latest runs (FEED_STATUS_SQL), through the pool or in a connection's snapshot. */
async function feedStatusOf(db: Pick<Pool, 'execute'>): Promise<FeedStatus[]> {
  const rows = await db.execute<(RunRow & { feed: number; role: FeedRunRole })[]>(FEED_STATUS_SQL);
  const byFeed = (role: FeedRunRole) =>
    new Map(rows.filter((row) => row.role === role && row.id !== null).map((row) => [row.feed, toImportRun(row)]));
  const [latest, realtime, refused] = [byFeed('full'), byFeed('realtime'), byFeed('refused')];
  return FEED_TYPES.map((feed) => ({
    feed,
    lastImport: latest.get(FEED_IDS[feed]) ?? null,
    lastRealtime: realtime.get(FEED_IDS[feed]) ?? null,
    lastRefused: refused.get(FEED_IDS[feed]) ?? null,
  }));
}

// Every record in primary-key order, for the lookup index (store/types.ts scanRecords).
const SCAN_SQL = `SELECT ${RECORD_COLUMNS} FROM ip_data d ORDER BY d.ip, d.prefix_len, d.feed_id`;

// The records of a chunk of keys' addresses, in primary-key order (scanChanges): an IN list of
// addresses is a few microseconds a key, where one of (ip, prefix_len, feed_id) rows took 300
// to 600 (MariaDB 10.11); the other lengths and feeds of an address are left out after.
const KEYS_PER_READ = 500;
const KEYS_READ_SQL = `SELECT ${RECORD_COLUMNS} FROM ip_data d
  WHERE d.ip IN (${Array.from({ length: KEYS_PER_READ }, () => '?').join(', ')})
  ORDER BY d.ip, d.prefix_len, d.feed_id`;

// The statement text of each padded size, built once: a batch's may hold thousands of placeholders.
const lookupSqlOfSize = new Map<number, string>();

function probeStatement(starts: Buffer[]): [string, Buffer[]] {
  const size = paddedSize(starts.length);
  let sql = lookupSqlOfSize.get(size);
  if (sql === undefined) lookupSqlOfSize.set(size, (sql = lookupSql(size)));
  return [sql, Array.from({ length: size }, (_, i) => starts[Math.min(i, starts.length - 1)]!)];
}

function probeResult(parts: LookupRow[][]): { rows: DataRow[]; lengths: number[] } {
  return {
    // A row without an address is the derived table's alone: no record matched.
    rows: parts.flat().filter((row) => row.ip !== null),
    lengths: parseLengths(parts[0]?.[0]?.lengths ?? null),
  };
}

const ER_BAD_DB_ERROR = 1049;

/** Creates the database if it is missing (as SQLite creates its file), then migrates it. */
async function prepareDatabase(options: ConnectionOptions): Promise<void> {
  const conn = await connect(options).catch(async (err: { errno?: number }) => {
    if (err.errno !== ER_BAD_DB_ERROR) throw err;
    const server = await connect({ ...options, database: '' });
    try {
      await server.query(`CREATE DATABASE IF NOT EXISTS ${server.escapeId(options.database)} CHARACTER SET utf8mb4`);
    } finally {
      await server.end();
    }
    return connect(options);
  });
  try {
    await migrate(conn, options.database);
  } finally {
    await conn.end();
  }
}

/** A read-only store cannot migrate: fail at start when the schema is not the one this code reads. */
async function checkSchema(options: ConnectionOptions): Promise<void> {
  const conn = await connect(options);
  try {
    const [row] = await conn.query<{ version: number | null }[]>(SCHEMA_VERSION_SQL);
    checkSchemaVersion(options.database, row?.version, MARIADB_MIGRATIONS.length);
  } finally {
    await conn.end();
  }
}
