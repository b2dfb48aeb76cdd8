import type Database from 'better-sqlite3';
import type { LoadRecord } from '../../feed/record.ts';
import type { Duplicate, LoadDuplicate } from '../types.ts';
import { LOAD_SORT_CACHE_KIB } from './sqlite-cache.ts';
import { dataRowValues, INSERT_DATA_SQL, type ContextCodec } from './sqlite-context-codec.ts';
import { ipKeySql } from './sqlite-ip-key.ts';

/** The index definitions of ip_data, as SQLite keeps them, to rebuild after a first load. */
const DATA_INDEXES_SQL = `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ip_data' AND sql IS NOT NULL`;

/** Whether no feed has a record: a first load may then drop ip_data's indexes, and write the file directly (SqliteStore). */
export function holdsNoData(db: Database.Database): boolean {
  return db.prepare('SELECT 1 FROM ip_data LIMIT 1').get() === undefined;
}

/** Line numbers by row, in chunks: a 40M-record load takes 160 MB, and no chunk is ever copied. */
class LinesByRow {
  static readonly #CHUNK = 1 << 20;
  readonly #chunks: Uint32Array[] = [];

  set(row: number, line: number): void {
    const chunk = Math.floor(row / LinesByRow.#CHUNK);
    while (this.#chunks.length <= chunk) this.#chunks.push(new Uint32Array(LinesByRow.#CHUNK));
    this.#chunks[chunk]![row % LinesByRow.#CHUNK] = line;
  }

  get(row: number): number {
    return this.#chunks[Math.floor(row / LinesByRow.#CHUNK)]![row % LinesByRow.#CHUNK]!;
  }
}

/**
 * The first load of a feed that holds nothing, on SQLite. Inserting at random places in
 * B-trees larger than the page cache is what makes a big load slow, and not linear: every
 * insert reads a page back and writes it to the WAL again. So a first load writes only
 * ip_data's rows, in feed order, and builds the rest at the end by sorting:
 * - when ip_data is empty (no other feed either), its indexes are dropped and rebuilt with
 *   CREATE INDEX once the rows are in;
 * - repeated keys (a later line with an earlier line's address), when the unique key's
 *   build finds any, are found by one sort and the later lines' rows removed;
 * - ip_label's rows are inserted from label_ids in the order of its key.
 * All of it runs in the import's transaction: a failed or killed load leaves the old schema and data.
 */
export class SqliteFirstLoad {
  readonly #db: Database.Database;
  readonly #feedId: number;
  readonly #contexts: ContextCodec;
  /** ip_data's indexes, dropped for the load; none when other feeds' rows keep them in place. */
  readonly #dropped: { name: string; sql: string }[];
  /** The first rowid of this load: its rows are the feed's whole data. */
  readonly #firstRow: number;
  readonly #lines = new LinesByRow();
  readonly #stmt;

  static begin(db: Database.Database, feedId: number, contexts: ContextCodec): SqliteFirstLoad {
    const empty = holdsNoData(db);
    const dropped = empty ? db.prepare<[], { name: string; sql: string }>(DATA_INDEXES_SQL).all() : [];
    for (const { name } of dropped) db.exec(`DROP INDEX "${name}"`);
    const firstRow = db.prepare<[], number>('SELECT COALESCE(MAX(rowid), 0) + 1 FROM ip_data').pluck().get() ?? 1;
    return new SqliteFirstLoad(db, feedId, contexts, dropped, firstRow);
  }

  private constructor(
    db: Database.Database,
    feedId: number,
    contexts: ContextCodec,
    dropped: { name: string; sql: string }[],
    firstRow: number,
  ) {
    this.#db = db;
    this.#contexts = contexts;
    this.#feedId = feedId;
    this.#dropped = dropped;
    this.#firstRow = firstRow;
    // The sorts of CREATE INDEX and ORDER BY may use a second core.
    db.pragma('threads = 2');
    this.#stmt = {
      // With the indexes in place, a repeated key is ignored here; without, it is removed by finish().
      insert: db.prepare(INSERT_DATA_SQL),
      rowOf: db
        .prepare<[Buffer, number, number], number>('SELECT rowid FROM ip_data WHERE ip = ? AND prefix_len = ? AND feed_id = ?')
        .pluck(),
    };
  }

  /** Appends the records' rows; answers those whose key an earlier line of this load took (only while indexes are in place). */
  append(records: LoadRecord[], labelIds: string[], at: number): Duplicate[] {
    const duplicates: Duplicate[] = [];
    this.#contexts.prepare(records);
    records.forEach((record, i) => {
      const context = this.#contexts.encode(record.json);
      const result = this.#stmt.insert.run(...dataRowValues(record, this.#feedId, context, labelIds[i]!, at));
      if (result.changes === 1) {
        this.#lines.set(Number(result.lastInsertRowid) - this.#firstRow, record.line);
        return;
      }
      const { bytes, prefixLen, text } = record.address;
      const row = this.#stmt.rowOf.get(bytes, prefixLen, this.#feedId);
      if (row === undefined) throw new Error(`could not store the record of line ${record.line} (${text})`);
      duplicates.push({ record, firstLine: this.#lines.get(row - this.#firstRow) });
    });
    return duplicates;
  }

  /** Rebuilds the dropped indexes (first removing the rows of repeated keys, visiting each, when there are some), writes ip_label. */
  finish(visit: (duplicate: LoadDuplicate) => void): void {
    this.#db.pragma(`cache_size = -${LOAD_SORT_CACHE_KIB}`);
    for (const { sql } of this.#dropped) {
      try {
        this.#db.exec(sql);
      } catch (err) {
        // Feeds seldom repeat a key, so the unique key's own build finds out whether one does;
        // only then are the repeats looked for, by a sort of their own, and the index built again.
        if ((err as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
        this.#removeDuplicates(visit);
        this.#db.exec(sql);
      }
    }
    this.#db
      .prepare(
        `INSERT OR FAIL INTO ip_label (label_id, ip_key, prefix_len, feed_id)
         SELECT j.value, ${ipKeySql('d.ip')}, d.prefix_len, d.feed_id FROM ip_data d, json_each(d.label_ids) j
          WHERE d.rowid >= ? ORDER BY 1, 2, 3`,
      )
      .run(this.#firstRow);
  }

  /** Keys stored twice (only without the unique index): the later rows go, as later lines lose. */
  #removeDuplicates(visit: (duplicate: LoadDuplicate) => void): void {
    this.#db.exec('CREATE TEMP TABLE load_duplicate (row INTEGER PRIMARY KEY, first INTEGER NOT NULL)');
    this.#db
      .prepare(
        `INSERT INTO temp.load_duplicate (row, first)
         SELECT rowid, first FROM (SELECT rowid, MIN(rowid) OVER (PARTITION BY ip, prefix_len) AS first FROM ip_data WHERE rowid >= ?)
          WHERE rowid <> first`,
      )
      .run(this.#firstRow);
    const rows = this.#db.prepare<[], { row: number; first: number; address: string }>(
      'SELECT x.row, x.first, d.ip_text AS address FROM temp.load_duplicate x JOIN ip_data d ON d.rowid = x.row ORDER BY x.row',
    );
    for (const { row, first, address } of rows.iterate()) {
      visit({ line: this.#lines.get(row - this.#firstRow), firstLine: this.#lines.get(first - this.#firstRow), address });
    }
    this.#db.exec('DELETE FROM ip_data WHERE rowid IN (SELECT row FROM temp.load_duplicate)');
    this.#db.exec('DROP TABLE temp.load_duplicate');
  }
}
