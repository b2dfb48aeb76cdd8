import type Database from 'better-sqlite3';

/*
 * A first load into an empty store would insert every index entry and every label row at a
 * random place of its B-tree: at tens of millions of records most of those inserts miss the
 * page cache. Instead the secondary indexes are dropped for the load and built at commit
 * (CREATE INDEX sorts once, then writes each index in order), and label rows are appended to
 * a temporary table and written into ip_label in key order at commit. All of it happens in
 * the import's transaction: readers keep the old schema, and a failed load gets the indexes
 * back with its rollback.
 */
const DEFERRABLE = ['ip_data_key', 'ip_data_hash', 'ip_data_network_length', 'ip_label_record'];

interface DroppedIndex {
  name: string;
  sql: string;
}

export class FirstLoad {
  readonly #db: Database.Database;
  readonly #feedId: number;
  readonly #dropped: DroppedIndex[];
  readonly #stage: Database.Statement<[number, Buffer, number]>;

  /** A first load when no feed holds anything (else undefined: imports write in place). */
  static begin(db: Database.Database, feedId: number): FirstLoad | undefined {
    if (db.prepare('SELECT 1 FROM ip_data LIMIT 1').get() !== undefined) return undefined;
    const dropped = db
      .prepare<string[], DroppedIndex>(
        `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND name IN (${DEFERRABLE.map(() => '?').join(', ')})`,
      )
      .all(...DEFERRABLE);
    for (const { name } of dropped) db.exec(`DROP INDEX "${name}"`);
    db.exec('CREATE TEMP TABLE import_labels (label_id INTEGER NOT NULL, ip BLOB NOT NULL, prefix_len INTEGER NOT NULL)');
    return new FirstLoad(db, feedId, dropped);
  }

  private constructor(db: Database.Database, feedId: number, dropped: DroppedIndex[]) {
    this.#db = db;
    this.#feedId = feedId;
    this.#dropped = dropped;
    this.#stage = db.prepare('INSERT INTO temp.import_labels (label_id, ip, prefix_len) VALUES (?, ?, ?)');
  }

  addLabel(labelId: number, ip: Buffer, prefixLen: number): void {
    this.#stage.run(labelId, ip, prefixLen);
  }

  /** Writes the staged label rows in ip_label's key order, then builds the dropped indexes. */
  finish(): void {
    this.#db
      .prepare(
        `INSERT INTO ip_label (label_id, ip, prefix_len, feed_id)
         SELECT label_id, ip, prefix_len, ? FROM temp.import_labels ORDER BY label_id, ip, prefix_len`,
      )
      .run(this.#feedId);
    this.#db.exec('DROP TABLE temp.import_labels');
    for (const { sql } of this.#dropped) this.#db.exec(sql);
  }
}
