import type Database from 'better-sqlite3';
import type { LoadRecord } from '../../feed/record.ts';
import { DATA_COLUMNS, DATA_PLACEHOLDERS, dataRowValues } from './sqlite-context-codec.ts';

const KEY_COLUMNS = ['ip', 'prefix_len', 'feed_id'];
const assignments = DATA_COLUMNS.split(', ')
  .filter((column) => !KEY_COLUMNS.includes(column))
  .map((column) => `${column} = c.${column}`)
  .join(', ');

/**
 * The updates, in key order: each probes ip_data_key for the next key, so its pages are read
 * and written once. OR FAIL, here and below: a failure fails the whole import, so the statement
 * need not keep a copy of every page it changes to undo itself alone (a statement journal, as
 * large as what it writes).
 */
export const APPLY_UPDATES_SQL = `
  UPDATE OR FAIL ip_data SET ${assignments}
    FROM (SELECT * FROM temp.import_data_changed ORDER BY ip, prefix_len) AS c
   WHERE ip_data.ip = c.ip AND ip_data.prefix_len = c.prefix_len AND ip_data.feed_id = c.feed_id`;

/** The inserts, in key order. */
export const APPLY_INSERTS_SQL = `
  INSERT OR FAIL INTO ip_data (${DATA_COLUMNS})
  SELECT ${DATA_COLUMNS} FROM temp.import_data_new ORDER BY ip, prefix_len`;

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
    // Plain tables of ip_data's columns: appended to as the import goes, sorted once when applied.
    for (const table of ['import_data_new', 'import_data_changed'])
      db.exec(`CREATE TEMP TABLE ${table} AS SELECT ${DATA_COLUMNS} FROM main.ip_data WHERE 0`);
    this.#stmt = {
      insert: db.prepare(`INSERT INTO temp.import_data_new (${DATA_COLUMNS}) VALUES (${DATA_PLACEHOLDERS})`),
      update: db.prepare(`INSERT INTO temp.import_data_changed (${DATA_COLUMNS}) VALUES (${DATA_PLACEHOLDERS})`),
      applyUpdates: db.prepare(APPLY_UPDATES_SQL),
      applyInserts: db.prepare(APPLY_INSERTS_SQL),
    };
    this.#feedId = feedId;
  }

  /** A new record's row, with its compressed context, its label ids and its time (unix seconds). */
  insert(record: LoadRecord, context: Buffer, labelIds: string, at: number): void {
    this.#stmt.insert.run(dataRowValues(record, this.#feedId, context, labelIds, at));
  }

  /** A stored record's new row, the same way. */
  update(record: LoadRecord, context: Buffer, labelIds: string, at: number): void {
    this.#stmt.update.run(dataRowValues(record, this.#feedId, context, labelIds, at));
  }

  /** Writes the staged rows into ip_data: the updates, then the inserts, each in key order. */
  apply(): void {
    this.#stmt.applyUpdates.run();
    this.#stmt.applyInserts.run();
  }
}
