import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { lastAddress, type CanonicalIp } from '../../feed/ip.ts';
import { decodeCursor } from '../cursor.ts';
import { keysetPage } from '../page.ts';
import { LABEL_COUNTS_SQL } from '../shared-sql.ts';
import { FEED_IDS, FEED_TYPES, type FeedType } from '../../feed/feed-types.ts';
import {
  type FeedStatus,
  type ImportRun,
  type ImportTransaction,
  type LabelCount,
  type ListPage,
  type ListQuery,
  ReadOnlyStoreError,
  type Store,
  type StoredRecord,
  type StoreOptions,
} from '../types.ts';
import { toImportRun, type DataRow, type RunRow } from '../rows.ts';
import { allProbeStarts, containingRecords } from '../containment.ts';
import { SqliteImport } from './sqlite-import.ts';
import { migrate } from './sqlite-migrations.ts';

const RECORD_COLUMNS = 'd.ip, d.prefix_len, d.feed_id, d.ip_text, d.context, d.last_updated';

/** The stored network lengths, for containment probes (a few rows). */
export const SQLITE_LENGTHS_SQL = 'SELECT DISTINCT prefix_len FROM network_length';

/** The records starting at one probe start: a range of the ip_data_key index. */
export const SQLITE_PROBE_SQL = `SELECT ${RECORD_COLUMNS} FROM ip_data d WHERE d.ip = ?`;

/**
 * The one statement of a list page, for labels already resolved to ids. The first label
 * drives an index range scan of ip_label's key in key order, the others are key lookups;
 * without labels the range scan is on ip_data_key. A record is inside `within` when its
 * first address is and its prefix is at least as long, so its whole range is.
 */
export function sqliteListQuery(labelIds: readonly number[], query: ListQuery): { sql: string; params: unknown[] } {
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
    where.push(`${key}.ip BETWEEN ? AND ? AND ${key}.prefix_len >= ?`);
    params.push(query.within.bytes, lastAddress(query.within.bytes, query.within.prefixLen), query.within.prefixLen);
  }
  if (query.after) {
    const after = decodeCursor(query.after);
    where.push(`(${key}.ip, ${key}.prefix_len, ${key}.feed_id) > (?, ?, ?)`);
    params.push(after.ip, after.prefixLen, after.feedId);
  }
  // One row more than asked tells whether another page follows.
  params.push(query.limit + 1);
  const sql = `SELECT ${RECORD_COLUMNS} FROM ${from}
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${key}.ip, ${key}.prefix_len, ${key}.feed_id LIMIT ?`;
  return { sql, params };
}

/** The embedded store: one SQLite file in WAL mode, so readers never wait for an import. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #readOnly: boolean;
  readonly #lengths: Database.Statement<[], number>;
  readonly #probe: Database.Statement<[Buffer], DataRow>;
  readonly #labelId: Database.Statement<[string, string], { id: number }>;

  constructor(path: string, options: StoreOptions = {}) {
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
    this.#lengths = this.#db.prepare<[], number>(SQLITE_LENGTHS_SQL).pluck();
    this.#probe = this.#db.prepare(SQLITE_PROBE_SQL);
    this.#labelId = this.#db.prepare('SELECT id FROM label WHERE kind = ? AND value = ?');
  }

  async lookup(address: CanonicalIp): Promise<StoredRecord[]> {
    return (await this.lookupMany([address]))[0]!;
  }

  async lookupMany(addresses: CanonicalIp[]): Promise<StoredRecord[][]> {
    // One read transaction: the lengths and every probe come from the same snapshot.
    const read = this.#db.transaction(() => {
      const lengths = this.#lengths.all();
      const rows = allProbeStarts(addresses, lengths).flatMap((start) => this.#probe.all(start));
      return containingRecords(rows, addresses, lengths);
    });
    return read();
  }

  async list(query: ListQuery): Promise<ListPage> {
    const labelIds: number[] = [];
    for (const { kind, value } of query.labels) {
      const row = this.#labelId.get(kind, value);
      if (!row) return { records: [] };
      labelIds.push(row.id);
    }
    const { sql, params } = sqliteListQuery(labelIds, query);
    return keysetPage(this.#db.prepare<unknown[], DataRow>(sql).all(...params), query.limit);
  }

  async labelCounts(): Promise<LabelCount[]> {
    return this.#db.prepare<[], LabelCount>(LABEL_COUNTS_SQL).all();
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
