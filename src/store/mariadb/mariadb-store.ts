import mariadb, { type Pool } from 'mariadb';
import { FULL_PREFIX, networkContains, type CanonicalIp } from '../../feed/ip.ts';
import type { LabelKind } from '../../feed/record.ts';
import { encodeCursor } from '../cursor.ts';
import {
  FEED_IDS,
  FEED_TYPES,
  type FeedStatus,
  type FeedType,
  type ImportRun,
  type ImportTransaction,
  type LabelCount,
  type ListPage,
  type ListQuery,
  ReadOnlyStoreError,
  type Store,
  type StoredRecord,
} from '../types.ts';
import { connect, connectionOptions, type ConnectionOptions } from './connection.ts';
import { toImportRun, toStoredRecord, type DataRow, type RunRow } from '../rows.ts';
import { listQuery } from './list-query.ts';
import { MariadbImport } from './mariadb-import.ts';
import { MARIADB_MIGRATIONS, migrate } from './migrations.ts';

// INET6 reads as text; the API and the cursor want the 16 bytes.
const RECORD_COLUMNS =
  'CAST(d.ip AS BINARY(16)) AS ip, d.prefix_len, d.feed_id, d.ip_text, d.context, UNIX_TIMESTAMP(d.last_updated) AS last_updated';

// The record of the address itself, then those of the nearest network starting at or below
// it: networks in Spur feeds do not nest, so that one is the only candidate to contain it.
// MAX over the network_ip index is a single index dive.
const LOOKUP_SQL = `
  SELECT ${RECORD_COLUMNS} FROM ip_data d WHERE d.ip = ? AND d.prefix_len = ${FULL_PREFIX}
  UNION ALL
  SELECT ${RECORD_COLUMNS} FROM ip_data d
   WHERE d.prefix_len < ${FULL_PREFIX}
     AND d.ip = (SELECT MAX(n.network_ip) FROM ip_data n WHERE n.network_ip <= ?)
  ORDER BY prefix_len DESC, feed_id`;

const LABEL_COUNTS_SQL = `
  SELECT l.kind, l.value, c.count
    FROM (SELECT label_id, COUNT(*) AS count FROM ip_label GROUP BY label_id) c
    JOIN label l ON l.id = c.label_id
   ORDER BY l.kind, c.count DESC, l.value`;

const RUN_COLUMNS = `r.id, r.feed_id, DATE_FORMAT(r.feed_date, '%Y-%m-%d') AS feed_date, r.file,
  UNIX_TIMESTAMP(r.started_at) AS started_at, UNIX_TIMESTAMP(r.finished_at) AS finished_at,
  r.lines_read, r.lines_skipped, r.inserted, r.updated, r.deleted, r.records, r.status, r.error, r.skipped_sample`;

const IMPORT_RUNS_SQL = `SELECT ${RUN_COLUMNS} FROM import_run r ORDER BY r.id DESC LIMIT ?`;

// Every feed with its latest successful run, if any, then each feed's latest refused run when
// newer than that: one statement, so one snapshot. Each MAX is one dive into
// import_run_feed_status (feed_id, status, id).
const latestRunId = (status: string) => `(SELECT MAX(s.id) FROM import_run s WHERE s.feed_id = f.id AND s.status = '${status}')`;
const FEED_STATUS_SQL = `
  SELECT 0 AS refused, f.id AS feed, ${RUN_COLUMNS}
    FROM feed f
    LEFT JOIN import_run r ON r.id = ${latestRunId('succeeded')}
  UNION ALL
  SELECT 1 AS refused, f.id AS feed, ${RUN_COLUMNS}
    FROM feed f
    STRAIGHT_JOIN import_run r ON r.id = ${latestRunId('refused')} -- feeds first, then a primary-key lookup
   WHERE r.id > COALESCE(${latestRunId('succeeded')}, 0)`;

// MediaWiki gives IPoid one second: with the server down or every connection busy, a read
// fails after half of it (503) rather than queueing past the client's patience.
const READ_POOL = { acquireTimeout: 500, connectTimeout: 500 } as const;

/** The rows of LOOKUP_SQL that hold `address`: the nearest network below it may end before it. */
const inAddress = (rows: DataRow[], address: CanonicalIp): StoredRecord[] =>
  rows.filter((row) => networkContains(row.ip, row.prefix_len, address.bytes)).map(toStoredRecord);

export interface MariadbStoreOptions {
  /** Serve only: no migrations, no imports; connect as given (ideally a SELECT-only user). */
  readOnly?: boolean;
}

/**
 * The MariaDB store: reads through a connection pool, each one SQL statement so that it
 * sees one InnoDB snapshot (never half an import); imports on a dedicated connection.
 */
export class MariadbStore implements Store {
  readonly kind = 'mariadb' as const;
  readonly #pool: Pool;
  readonly #options: ConnectionOptions;
  readonly #readOnly: boolean;

  static async open(url: string, options: MariadbStoreOptions = {}): Promise<MariadbStore> {
    const connection = connectionOptions(url);
    if (options.readOnly) await checkSchema(connection);
    else await prepareDatabase(connection);
    return new MariadbStore(connection, options.readOnly ?? false);
  }

  private constructor(options: ConnectionOptions, readOnly: boolean) {
    this.#options = options;
    this.#readOnly = readOnly;
    this.#pool = mariadb.createPool({ ...options, ...READ_POOL });
  }

  async lookup(address: CanonicalIp): Promise<StoredRecord[]> {
    return inAddress(await this.#pool.execute<DataRow[]>(LOOKUP_SQL, [address.bytes, address.bytes]), address);
  }

  async lookupMany(addresses: CanonicalIp[]): Promise<StoredRecord[][]> {
    // One snapshot on one connection; the statements are pipelined, not waited for one by one.
    const conn = await this.#pool.getConnection();
    try {
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      const found = await Promise.all(addresses.map((address) => conn.execute<DataRow[]>(LOOKUP_SQL, [address.bytes, address.bytes])));
      await conn.commit();
      return found.map((rows, i) => inAddress(rows, addresses[i]!));
    } catch (err) {
      await conn.rollback().catch(() => {});
      throw err;
    } finally {
      await conn.release();
    }
  }

  async list(query: ListQuery): Promise<ListPage> {
    const { sql, values } = listQuery(query, RECORD_COLUMNS);
    const rows = await this.#pool.execute<DataRow[]>(sql, values);
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      records: page.map(toStoredRecord),
      next: rows.length > query.limit && last ? encodeCursor({ ip: last.ip, prefixLen: last.prefix_len, feedId: last.feed_id }) : undefined,
    };
  }

  async labelCounts(): Promise<LabelCount[]> {
    const rows = await this.#pool.execute<{ kind: LabelKind; value: string; count: number }[]>(LABEL_COUNTS_SQL);
    return rows.map(({ kind, value, count }) => ({ kind, value, count }));
  }

  async importRuns(limit: number): Promise<ImportRun[]> {
    const rows = await this.#pool.execute<RunRow[]>(IMPORT_RUNS_SQL, [limit]);
    return rows.map(toImportRun);
  }

  async feedStatus(): Promise<FeedStatus[]> {
    const rows = await this.#pool.execute<(RunRow & { feed: number; refused: 0 | 1 })[]>(FEED_STATUS_SQL);
    const byFeed = (refused: 0 | 1) =>
      new Map(rows.filter((row) => Number(row.refused) === refused && row.id !== null).map((row) => [row.feed, toImportRun(row)]));
    const latest = byFeed(0);
    const refused = byFeed(1);
    return FEED_TYPES.map((feed) => ({ feed, lastImport: latest.get(FEED_IDS[feed]) ?? null, lastRefused: refused.get(FEED_IDS[feed]) ?? null }));
  }

  async beginImport(feed: FeedType): Promise<ImportTransaction> {
    if (this.#readOnly) throw new ReadOnlyStoreError();
    return MariadbImport.begin(this.#options, FEED_IDS[feed]);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
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
    const [row] = await conn.query<{ version: number | null }[]>('SELECT MAX(version) AS version FROM schema_migration');
    const version = row?.version ?? 0;
    if (version < MARIADB_MIGRATIONS.length) {
      throw new Error(
        `database ${options.database} has schema version ${version}, this IPoid needs ${MARIADB_MIGRATIONS.length}: open it once without read-only to migrate`,
      );
    }
  } finally {
    await conn.end();
  }
}
