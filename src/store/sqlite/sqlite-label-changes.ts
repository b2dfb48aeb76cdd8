import type Database from 'better-sqlite3';
import type { CanonicalIp } from '../../feed/ip.ts';
import { labelChanges } from '../label-changes.ts';
import { ipKeySql } from './sqlite-ip-key.ts';

/** The rows that go, by ip_label's key: the subquery's rows are sorted into a temporary index and probed in its order. */
export const DELETE_GONE_LABELS_SQL = `
  DELETE FROM ip_label WHERE (label_id, ip_key, prefix_len, feed_id) IN
    (SELECT label_id, ${ipKeySql('ip')}, prefix_len, ? FROM temp.import_label_gone)`;

/** The rows that come, sorted into ip_label's key order (OR FAIL: without a statement journal, see sqlite-data-changes.ts). */
export const INSERT_NEW_LABELS_SQL = `
  INSERT OR FAIL INTO ip_label (label_id, ip_key, prefix_len, feed_id)
  SELECT label_id, ${ipKeySql('ip')}, prefix_len, ? FROM temp.import_label_new ORDER BY 1, 2, 3`;

/**
 * A diff's changes to ip_label, kept aside in two temporary tables (rows that go, rows that
 * come) and applied at commit, each in the order of ip_label's key. A record's labels lie in
 * as many ranges of ip_label as it has labels: written record by record, a diff touched a
 * page of ip_label for every row it changed, and at tens of millions of records, where
 * ip_label is far larger than the page cache, each of those pages was read back and written
 * to the WAL again. In key order every page is read and written once.
 */
export class SqliteLabelChanges {
  readonly #feedId: number;
  readonly #stmt;

  constructor(db: Database.Database, feedId: number) {
    // Plain tables: appended to as the import goes, sorted once when applied.
    db.exec('CREATE TEMP TABLE import_label_gone (label_id INTEGER NOT NULL, ip BLOB NOT NULL, prefix_len INTEGER NOT NULL)');
    db.exec('CREATE TEMP TABLE import_label_new (label_id INTEGER NOT NULL, ip BLOB NOT NULL, prefix_len INTEGER NOT NULL)');
    this.#stmt = {
      add: db.prepare<[number, Buffer, number]>('INSERT INTO temp.import_label_new (label_id, ip, prefix_len) VALUES (?, ?, ?)'),
      remove: db.prepare<[number, Buffer, number]>('INSERT INTO temp.import_label_gone (label_id, ip, prefix_len) VALUES (?, ?, ?)'),
      removeGone: db.prepare(
        `INSERT INTO temp.import_label_gone (label_id, ip, prefix_len)
         SELECT j.value, g.ip, g.prefix_len FROM temp.import_gone g, json_each(g.label_ids) j`,
      ),
      deleteGone: db.prepare<[number]>(DELETE_GONE_LABELS_SQL),
      insertNew: db.prepare<[number]>(INSERT_NEW_LABELS_SQL),
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

  /** Writes the staged rows into ip_label: the deletes, then the inserts, each in the order of its key. */
  apply(): void {
    this.#stmt.deleteGone.run(this.#feedId);
    this.#stmt.insertNew.run(this.#feedId);
  }
}
