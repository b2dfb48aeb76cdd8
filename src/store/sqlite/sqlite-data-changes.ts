import type Database from 'better-sqlite3';
import type { LoadRecord } from '../../feed/record.ts';
import { READABLE_COLUMNS, readableValues } from './sqlite-context-codec.ts';

/** A staged row's columns: ip_data's, but for feed_id (the import's own). */
const STAGED_COLUMNS = `ip, prefix_len, ip_text, context, label_ids, record_hash, last_updated, ${READABLE_COLUMNS}`;
const stagedTable = (name: string): string => `CREATE TEMP TABLE ${name} (
  ip BLOB NOT NULL, prefix_len INTEGER NOT NULL, ip_text TEXT NOT NULL, context BLOB NOT NULL, label_ids TEXT NOT NULL,
  record_hash BLOB NOT NULL, last_updated INTEGER NOT NULL, organization TEXT, as_number INTEGER, as_organization TEXT,
  location_city TEXT, client_count INTEGER)`;
const placeholders = STAGED_COLUMNS.split(',')
  .map(() => '?')
  .join(', ');

/**
 * The updates, in key order: each probes ip_data_key for the next key, so its pages are read
 * and written once. OR FAIL, here and below: a failure fails the whole import, so the statement
 * need not keep a copy of every page it changes to undo itself alone (a statement journal, as
 * large as what it writes).
 */
export const APPLY_UPDATES_SQL = `
  UPDATE OR FAIL ip_data SET ip_text = c.ip_text, context = c.context, label_ids = c.label_ids, record_hash = c.record_hash,
         last_updated = c.last_updated, (${READABLE_COLUMNS}) = (${READABLE_COLUMNS.split(', ')
           .map((column) => `c.${column}`)
           .join(', ')})
    FROM (SELECT * FROM temp.import_data_changed ORDER BY ip, prefix_len) AS c
   WHERE ip_data.ip = c.ip AND ip_data.prefix_len = c.prefix_len AND ip_data.feed_id = ?`;

/** The inserts, in key order. */
export const APPLY_INSERTS_SQL = `
  INSERT OR FAIL INTO ip_data (feed_id, ${STAGED_COLUMNS})
  SELECT ?, ${STAGED_COLUMNS} FROM temp.import_data_new ORDER BY ip, prefix_len`;

/**
 * A diff's writes to ip_data, kept aside in two temporary tables (records that come, records
 * that change) and applied at commit, each in key order. The transaction's pages that do not
 * fit the page cache spill to the write-ahead log, and SQLite looks for every page it reads
 * there first, through one hash table per 4,096 pages written: once a diff had written, each
 * of its reads at random places (a changed line's stored hash, the record it replaces) cost
 * more the more it had written. Staged, the diff reads the day before as it was, and writes
 * every page once, in order, at the end. The temporary tables live in their own file, which
 * has no log.
 */
export class SqliteDataChanges {
  readonly #feedId: number;
  readonly #stmt;

  constructor(db: Database.Database, feedId: number) {
    // Plain tables: appended to as the import goes, sorted once when applied.
    db.exec(stagedTable('import_data_new'));
    db.exec(stagedTable('import_data_changed'));
    this.#stmt = {
      insert: db.prepare(`INSERT INTO temp.import_data_new (${STAGED_COLUMNS}) VALUES (${placeholders})`),
      update: db.prepare(`INSERT INTO temp.import_data_changed (${STAGED_COLUMNS}) VALUES (${placeholders})`),
      applyUpdates: db.prepare<[number]>(APPLY_UPDATES_SQL),
      applyInserts: db.prepare<[number]>(APPLY_INSERTS_SQL),
    };
    this.#feedId = feedId;
  }

  /** A new record's row, with its compressed context, its label ids and its time (unix seconds). */
  insert(record: LoadRecord, context: Buffer, labelIds: string, at: number): void {
    this.#stmt.insert.run(stagedValues(record, context, labelIds, at));
  }

  /** A stored record's new row, the same way. */
  update(record: LoadRecord, context: Buffer, labelIds: string, at: number): void {
    this.#stmt.update.run(stagedValues(record, context, labelIds, at));
  }

  /** Writes the staged rows into ip_data: the updates, then the inserts, each in key order. */
  apply(): void {
    this.#stmt.applyUpdates.run(this.#feedId);
    this.#stmt.applyInserts.run(this.#feedId);
  }
}

function stagedValues(record: LoadRecord, context: Buffer, labelIds: string, at: number): unknown[] {
  const { bytes, prefixLen, text } = record.address;
  return [bytes, prefixLen, text, context, labelIds, record.hash, at, ...readableValues(record)];
}
