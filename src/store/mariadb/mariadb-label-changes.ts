import type { Connection } from 'mariadb';
import type { CanonicalIp } from '../../feed/ip.ts';
import { labelChanges } from '../label-changes.ts';

/** The staged rows of one side: a label's rows lie together, in ip_label's key order. */
const stagedTable = (table: string): string => `CREATE TEMPORARY TABLE ${table} (
  label_id INT UNSIGNED NOT NULL, ip INET6 NOT NULL, prefix_len TINYINT UNSIGNED NOT NULL,
  PRIMARY KEY (label_id, ip, prefix_len)) ENGINE=InnoDB`;

const stageSql = (table: string): string => `INSERT INTO ${table} (label_id, ip, prefix_len) VALUES (?, ?, ?)`;

/** The label rows of the gone records, from the label ids import_gone copied (mariadb-import.ts). */
const STAGE_GONE_SQL = `INSERT INTO import_label_gone (label_id, ip, prefix_len)
  SELECT j.label_id, g.ip, g.prefix_len FROM import_gone g JOIN JSON_TABLE(g.label_ids, '$[*]' COLUMNS (label_id INT UNSIGNED PATH '$')) j`;

/** The rows that go, read in the staged table's order and probed in ip_label's. */
export const MARIADB_DELETE_GONE_LABELS_SQL = `DELETE l FROM import_label_gone g STRAIGHT_JOIN ip_label l
  ON l.label_id = g.label_id AND l.ip = g.ip AND l.prefix_len = g.prefix_len AND l.feed_id = ?`;

/** The rows that come, in ip_label's key order. */
export const MARIADB_INSERT_NEW_LABELS_SQL = `INSERT INTO ip_label (label_id, ip, prefix_len, feed_id)
  SELECT label_id, ip, prefix_len, ? FROM import_label_new ORDER BY label_id, ip, prefix_len`;

/**
 * An import's changes to ip_label on MariaDB, kept aside in two temporary tables (rows that go,
 * rows that come) and applied at commit, each in the order of ip_label's key: the same plan as
 * sqlite-label-changes.ts. Written record by record, a day's label rows landed at random
 * places of an index clustered by label, and once the store outgrows the buffer pool each
 * write could read a page from disk; in key order each page is read and written once. (At
 * 10M, a day's rows touch nearly every page of ip_label either way, so this alone saves little:
 * docs/import-at-scale.md.)
 */
export class MariadbLabelChanges {
  readonly #conn: Connection;
  readonly #feedId: number;
  readonly #send: (sql: string, rows: unknown[][]) => void;

  /** Creates the staging tables (temporary: they go with the session). */
  static async create(conn: Connection): Promise<void> {
    await conn.query(stagedTable('import_label_gone'));
    await conn.query(stagedTable('import_label_new'));
  }

  /** `send` queues a bulk write behind the import's others (MariadbImport#send). */
  constructor(conn: Connection, feedId: number, send: (sql: string, rows: unknown[][]) => void) {
    this.#conn = conn;
    this.#feedId = feedId;
    this.#send = send;
  }

  /** The records' label rows, to be inserted. */
  add(records: readonly { address: CanonicalIp }[], labelIds: readonly (readonly number[])[]): void {
    this.#stage(
      'import_label_new',
      records.flatMap((r, i) => labelIds[i]!.map((id) => [id, r.address.bytes, r.address.prefixLen])),
    );
  }

  /** Updated records' label rows: only those that differ from the stored ids go and come. */
  replace(
    records: readonly { address: CanonicalIp }[],
    stored: readonly (readonly number[])[],
    labelIds: readonly (readonly number[])[],
  ): void {
    const gone: unknown[][] = [];
    const come: unknown[][] = [];
    records.forEach(({ address }, i) => {
      const { removed, added } = labelChanges(stored[i]!, labelIds[i]!);
      for (const id of removed) gone.push([id, address.bytes, address.prefixLen]);
      for (const id of added) come.push([id, address.bytes, address.prefixLen]);
    });
    this.#stage('import_label_gone', gone);
    this.#stage('import_label_new', come);
  }

  /** The label rows of the records in import_gone, to be deleted. */
  async removeGone(): Promise<void> {
    // A text-protocol statement: MariaDB cannot prepare one that joins JSON_TABLE.
    await this.#conn.query(STAGE_GONE_SQL);
  }

  /** Writes the staged rows into ip_label: the deletes, then the inserts. */
  async apply(): Promise<void> {
    await this.#conn.execute(MARIADB_DELETE_GONE_LABELS_SQL, [this.#feedId]);
    await this.#conn.execute(MARIADB_INSERT_NEW_LABELS_SQL, [this.#feedId]);
  }

  #stage(table: string, rows: unknown[][]): void {
    if (rows.length) this.#send(stageSql(table), rows);
  }
}
