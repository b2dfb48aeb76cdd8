import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { FULL_PREFIX, lastAddress, networkContains, type CanonicalIp } from '../../feed/ip.ts';
import type { LabelKind } from '../../feed/record.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
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
import { toImportRun, toStoredRecord, type DataRow, type RunRow } from '../rows.ts';
import { SqliteImport } from './sqlite-import.ts';
import { migrate } from './migrations.ts';

const RECORD_COLUMNS = 'd.ip, d.prefix_len, d.feed_id, d.ip_text, d.context, d.last_updated';

export interface SqliteStoreOptions {
  /** Open without writing: no migrations, no imports (for read-only replicas of the file). */
  readOnly?: boolean;
}

/** The embedded store: one SQLite file in WAL mode, so readers never wait for an import. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #readOnly: boolean;
  readonly #exact: Database.Statement<[Buffer], DataRow>;
  readonly #networks: Database.Statement<[Buffer], DataRow>;
  readonly #labelId: Database.Statement<[string, string], { id: number }>;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.#path = path;
    this.#readOnly = options.readOnly ?? false;
    if (!options.readOnly) mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path, { readonly: options.readOnly ?? false, fileMustExist: options.readOnly ?? false });
    this.#db.pragma('busy_timeout = 5000');
    if (!options.readOnly) {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      migrate(this.#db);
    }
    this.#exact = this.#db.prepare(
      `SELECT ${RECORD_COLUMNS} FROM ip_data d WHERE d.ip = ? AND d.prefix_len = ${FULL_PREFIX} ORDER BY d.feed_id`,
    );
    // The stored networks starting at the nearest network start at or below the address;
    // networks in Spur feeds do not nest, so that is the only candidate to contain it.
    // INDEXED BY: left to itself the planner walks ip_data_key back through every
    // single address below, which made IPv4 lookups grow with the table.
    this.#networks = this.#db.prepare(
      `SELECT ${RECORD_COLUMNS} FROM ip_data d
        WHERE d.prefix_len < ${FULL_PREFIX}
          AND d.ip = (SELECT n.ip FROM ip_data n INDEXED BY ip_data_network
                       WHERE n.prefix_len < ${FULL_PREFIX} AND n.ip <= ?
                       ORDER BY n.ip DESC LIMIT 1)
        ORDER BY d.prefix_len DESC, d.feed_id`,
    );
    this.#labelId = this.#db.prepare('SELECT id FROM label WHERE kind = ? AND value = ?');
  }

  async lookup(address: CanonicalIp): Promise<StoredRecord[]> {
    return (await this.lookupMany([address]))[0]!;
  }

  async lookupMany(addresses: CanonicalIp[]): Promise<StoredRecord[][]> {
    // One read transaction: every address is read from the same snapshot.
    const read = this.#db.transaction(() =>
      addresses.map((address) => [
        ...this.#exact.all(address.bytes),
        ...this.#networks.all(address.bytes).filter((row) => networkContains(row.ip, row.prefix_len, address.bytes)),
      ]),
    );
    return read().map((rows) => rows.map(toStoredRecord));
  }

  async list(query: ListQuery): Promise<ListPage> {
    const labelIds: number[] = [];
    for (const { kind, value } of query.labels) {
      const row = this.#labelId.get(kind, value);
      if (!row) return { records: [] };
      labelIds.push(row.id);
    }
    // The first label drives an index range scan in key order; the others are key lookups.
    const [driver, ...others] = labelIds;
    const from =
      driver === undefined
        ? 'ip_data d'
        : 'ip_label k JOIN ip_data d ON d.ip = k.ip AND d.prefix_len = k.prefix_len AND d.feed_id = k.feed_id';
    const key = driver === undefined ? 'd' : 'k';
    const where: string[] = [];
    const params: unknown[] = [];
    if (driver !== undefined) {
      where.push('k.label_id = ?');
      params.push(driver);
    }
    for (const id of others) {
      where.push(
        `EXISTS (SELECT 1 FROM ip_label o WHERE o.label_id = ? AND o.ip = ${key}.ip AND o.prefix_len = ${key}.prefix_len AND o.feed_id = ${key}.feed_id)`,
      );
      params.push(id);
    }
    if (query.within) {
      where.push(`${key}.ip BETWEEN ? AND ?`);
      params.push(query.within.bytes, lastAddress(query.within.bytes, query.within.prefixLen));
    }
    if (query.after) {
      const after = decodeCursor(query.after);
      where.push(`(${key}.ip, ${key}.prefix_len, ${key}.feed_id) > (?, ?, ?)`);
      params.push(after.ip, after.prefixLen, after.feedId);
    }
    const sql = `SELECT ${RECORD_COLUMNS} FROM ${from}
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${key}.ip, ${key}.prefix_len, ${key}.feed_id LIMIT ?`;
    // One row more than asked tells whether another page follows.
    const rows = this.#db.prepare<unknown[], DataRow>(sql).all(...params, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      records: page.map(toStoredRecord),
      next: rows.length > query.limit && last ? encodeCursor({ ip: last.ip, prefixLen: last.prefix_len, feedId: last.feed_id }) : undefined,
    };
  }

  async labelCounts(): Promise<LabelCount[]> {
    return this.#db
      .prepare<[], { kind: LabelKind; value: string; count: number }>(
        `SELECT l.kind, l.value, c.count
           FROM (SELECT label_id, COUNT(*) AS count FROM ip_label GROUP BY label_id) c
           JOIN label l ON l.id = c.label_id
          ORDER BY l.kind, c.count DESC, l.value`,
      )
      .all();
  }

  async importRuns(limit: number): Promise<ImportRun[]> {
    return this.#db.prepare<[number], RunRow>('SELECT * FROM import_run ORDER BY id DESC LIMIT ?').all(limit).map(toImportRun);
  }

  async feedStatus(): Promise<FeedStatus[]> {
    // Both are one descent of import_run_feed_status (feed_id, status, id).
    const latest = this.#db.prepare<[number], RunRow>(
      `SELECT * FROM import_run WHERE feed_id = ? AND status = 'succeeded' ORDER BY id DESC LIMIT 1`,
    );
    const refusedSince = this.#db.prepare<[number, number], RunRow>(
      `SELECT * FROM import_run WHERE feed_id = ? AND status = 'refused' AND id > ? ORDER BY id DESC LIMIT 1`,
    );
    const read = this.#db.transaction(() =>
      FEED_TYPES.map((feed) => {
        const row = latest.get(FEED_IDS[feed]);
        const refused = refusedSince.get(FEED_IDS[feed], row?.id ?? 0);
        return { feed, lastImport: row ? toImportRun(row) : null, lastRefused: refused ? toImportRun(refused) : null };
      }),
    );
    return read();
  }

  async beginImport(feed: FeedType): Promise<ImportTransaction> {
    // Imports write through a connection of their own: the read-only handle would not stop them.
    if (this.#readOnly) throw new ReadOnlyStoreError();
    return SqliteImport.begin(this.#path, FEED_IDS[feed]);
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
