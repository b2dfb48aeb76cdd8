import type Database from 'better-sqlite3';
import type { CanonicalIp } from '../../feed/ip.ts';
import { labelChanges } from '../label-changes.ts';
import { SORT_CACHE_KIB } from './sqlite-cache.ts';
import { ipKeySql } from './sqlite-ip-key.ts';

const GOES = 0;
const COMES = 1;

/** Both kinds of staged rows in one run, in ip_label's key order (a key's row that goes before its row that comes). */
export const SORT_LABEL_CHANGES_SQL = `
  INSERT INTO temp.import_label_changes (change, label_id, ip_key, prefix_len)
  SELECT change, label_id, ${ipKeySql('ip')}, prefix_len
    FROM (SELECT ${GOES} AS change, label_id, ip, prefix_len FROM temp.import_label_gone
          UNION ALL SELECT ${COMES}, label_id, ip, prefix_len FROM temp.import_label_new)
   ORDER BY 2, 3, 4, 1`;

/** A stretch's rows that go, one probe of ip_label's key each. */
export const DELETE_GONE_LABELS_SQL = `
  DELETE FROM ip_label WHERE (label_id, ip_key, prefix_len, feed_id) IN
    (SELECT label_id, ip_key, prefix_len, @feed FROM temp.import_label_changes WHERE rowid BETWEEN @first AND @last AND change = ${GOES})`;

/** A stretch's rows that come, in key order (OR FAIL: without a statement journal, see sqlite-data-changes.ts). */
export const INSERT_NEW_LABELS_SQL = `
  INSERT OR FAIL INTO ip_label (label_id, ip_key, prefix_len, feed_id)
  SELECT label_id, ip_key, prefix_len, @feed FROM temp.import_label_changes WHERE rowid BETWEEN @first AND @last AND change = ${COMES} ORDER BY rowid`;

/**
 * Staged rows applied a stretch at a time: its deletes, then its inserts. A stretch's rows lie
 * on at most as many pages of ip_label (4 KiB each) as a quarter of the commit's page cache
 * holds, so that its inserts find the pages its deletes changed still in the cache.
 */
const STRETCH_ROWS = SORT_CACHE_KIB / 4 / 4;

interface Stretch {
  feed: number;
  first: number;
  last: number;
}

/**
 * A diff's changes to ip_label, kept aside in two temporary tables (rows that go, rows that
 * come) and applied at commit, each in the order of ip_label's key. A record's labels lie in
 * as many ranges of ip_label as it has labels: written record by record, a diff touched a
 * page of ip_label for every row it changed, and at tens of millions of records, where
 * ip_label is far larger than the page cache, each of those pages was read back and written
 * to the WAL again. In key order every page is read and written once. A day's changes still
 * land on nearly every page of ip_label, so the deletes and inserts are applied together, a
 * stretch of keys at a time: two passes over the whole table, all the deletes then all the
 * inserts, read and wrote each page twice.
 */
export class SqliteLabelChanges {
  readonly #feedId: number;
  readonly #stmt;

  constructor(db: Database.Database, feedId: number) {
    // Plain tables: appended to as the import goes, sorted once when applied.
    db.exec('CREATE TEMP TABLE import_label_gone (label_id INTEGER NOT NULL, ip BLOB NOT NULL, prefix_len INTEGER NOT NULL)');
    db.exec('CREATE TEMP TABLE import_label_new (label_id INTEGER NOT NULL, ip BLOB NOT NULL, prefix_len INTEGER NOT NULL)');
    db.exec(`CREATE TEMP TABLE import_label_changes (
      change INTEGER NOT NULL, label_id INTEGER NOT NULL, ip_key BLOB NOT NULL, prefix_len INTEGER NOT NULL)`);
    this.#stmt = {
      add: db.prepare<[number, Buffer, number]>('INSERT INTO temp.import_label_new (label_id, ip, prefix_len) VALUES (?, ?, ?)'),
      remove: db.prepare<[number, Buffer, number]>('INSERT INTO temp.import_label_gone (label_id, ip, prefix_len) VALUES (?, ?, ?)'),
      removeGone: db.prepare(
        `INSERT INTO temp.import_label_gone (label_id, ip, prefix_len)
         SELECT j.value, g.ip, g.prefix_len FROM temp.import_gone g, json_each(g.label_ids) j`,
      ),
      sort: db.prepare(SORT_LABEL_CHANGES_SQL),
      deleteGone: db.prepare<[Stretch]>(DELETE_GONE_LABELS_SQL),
      insertNew: db.prepare<[Stretch]>(INSERT_NEW_LABELS_SQL),
    };
    this.#feedId = feedId;
  }

  /** The record's label rows, to be inserted. */
  add(address: CanonicalIp, labelIds: readonly number[]): void {
    for (const id of labelIds) this.#stmt.add.run(id, address.bytes, address.prefixLen);
  }

  /** An updated record's label rows: only those that differ go and come. */
  replace(address: CanonicalIp, stored: readonly number[], labelIds: readonly number[]): void {
    const { removed, added } = labelChanges(stored, labelIds);
    for (const id of removed) this.#stmt.remove.run(id, address.bytes, address.prefixLen);
    this.add(address, added);
  }

  /** The label rows of the records in temp.import_gone (from the label_ids it copied), to be deleted. */
  removeGone(): void {
    this.#stmt.removeGone.run();
  }

  /** Writes the staged rows into ip_label in the order of its key, a stretch at a time: its deletes, then its inserts. */
  apply(): void {
    // One sort per import, into a new table: its rowids count the rows from 1, in key order.
    const rows = this.#stmt.sort.run().changes;
    for (let first = 1; first <= rows; first += STRETCH_ROWS) {
      const stretch = { feed: this.#feedId, first, last: first + STRETCH_ROWS - 1 };
      this.#stmt.deleteGone.run(stretch);
      this.#stmt.insertNew.run(stretch);
    }
  }
}
