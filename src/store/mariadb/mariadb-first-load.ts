import type { Connection } from 'mariadb';
import type { LoadRecord } from '../../feed/record.ts';
import { ANY_RUN_SQL } from '../shared-sql.ts';
import type { LoadDuplicate } from '../types.ts';

/** The tables a first load builds anew and switches in, together. */
const TABLES = ['ip_data', 'ip_label'] as const;
type Table = (typeof TABLES)[number];
const loadTable = (table: Table): string => `${table}_load`;
const oldTable = (table: Table): string => `${table}_old`;
const WORK_TABLES = TABLES.flatMap((table) => [loadTable(table), oldTable(table)]);
// Foreign key names are unique per database: a live table's keys take this suffix while the
// loaded table takes their names, each rename one atomic ALTER, so no key is ever lost.
const SWITCHING = '_switching';
/** MariaDB's error for a key that a unique index already holds. */
const ER_DUP_ENTRY = 1062;
const isDuplicateKey = (err: unknown): boolean => (err as { errno?: number }).errno === ER_DUP_ENTRY;

/** The feed's rows in feed order; `load_line` (the line) is the key, so every insert appends. */
const APPEND_SQL = `INSERT INTO ip_data_load (load_line, ip, prefix_len, feed_id, ip_text, context, label_ids, record_hash, last_updated)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?))`;

interface Definition {
  /** Index clauses as SHOW CREATE TABLE prints them: `PRIMARY KEY (…)`, `KEY \`name\` (…)`. */
  keys: string[];
  foreignKeys: { name: string; clause: string }[];
}

async function definition(conn: Connection, table: string): Promise<Definition> {
  const [row] = await conn.query<{ 'Create Table': string }[]>(`SHOW CREATE TABLE ${table}`);
  const lines = row!['Create Table'].split('\n').map((line) => line.trim().replace(/,$/, ''));
  return {
    keys: lines.filter((line) => /^(PRIMARY |UNIQUE |FULLTEXT |SPATIAL )?KEY /.test(line)),
    foreignKeys: lines.flatMap((line) => {
      const match = /^CONSTRAINT `([^`]+)` (FOREIGN KEY .*)$/.exec(line);
      return match ? [{ name: match[1]!, clause: match[2]! }] : [];
    }),
  };
}

const dropKey = (key: string): string => (key.startsWith('PRIMARY ') ? 'DROP PRIMARY KEY' : `DROP INDEX ${/`[^`]+`/.exec(key)![0]}`);

/** Renames those of a table's foreign keys that `rename` names anew; one atomic ALTER. */
async function renameForeignKeys(conn: Connection, table: string, rename: (name: string) => string | undefined): Promise<void> {
  const changes = (await definition(conn, table)).foreignKeys.flatMap(({ name, clause }) => {
    const renamed = rename(name);
    return renamed === undefined ? [] : [`DROP FOREIGN KEY \`${name}\``, `ADD CONSTRAINT \`${renamed}\` ${clause}`];
  });
  if (changes.length) await withoutForeignKeyChecks(conn, () => conn.query(`ALTER TABLE ${table} ${changes.join(', ')}`));
}

const switching = (name: string): string => `${name}${SWITCHING}`;
const restored = (name: string): string | undefined => (name.endsWith(SWITCHING) ? name.slice(0, -SWITCHING.length) : undefined);

/** Foreign keys added without checks are metadata only: no copy of the table, no scan of its rows. */
async function withoutForeignKeyChecks(conn: Connection, ddl: () => Promise<unknown>): Promise<void> {
  await conn.query('SET SESSION foreign_key_checks = 0');
  try {
    await ddl();
  } finally {
    await conn.query('SET SESSION foreign_key_checks = 1');
  }
}

/** Drops whatever work tables there are, and gives the live tables' foreign keys their names back. */
async function dropWorkTables(conn: Connection): Promise<void> {
  await conn.query(`DROP TABLE IF EXISTS ${WORK_TABLES.join(', ')}`);
  for (const table of TABLES) await renameForeignKeys(conn, table, restored);
}

/**
 * What a killed first load left behind (DDL commits at once, so the server cannot roll it
 * back): its work tables, and maybe the live tables' foreign keys under their switching
 * names. Runs under the import lock, before anything else of the import.
 */
export async function dropLeftovers(conn: Connection): Promise<void> {
  const left = await conn.query<unknown[]>(
    `SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (${WORK_TABLES.map(() => '?').join(', ')})`,
    WORK_TABLES,
  );
  if (left.length) await dropWorkTables(conn);
}

/**
 * The first load of a feed into a store that holds nothing, on MariaDB. Inserting at random
 * places in InnoDB's B-trees, secondary indexes and ip_label in place, is what made a big
 * load slow. Instead ip_data's rows are appended in feed order to a work table keyed by line,
 * without indexes; at the end one ALTER rebuilds the table with ip_data's keys (InnoDB sorts,
 * then builds each index bottom-up; only if the unique key finds a repeated key are the repeats
 * found and removed, and the ALTER run again), and ip_label is filled
 * from label_ids in key order. At commit the work tables take the live ones' foreign keys and
 * one RENAME TABLE switches both in: readers see the empty tables, then the whole load.
 *
 * The work tables' DDL commits at once: a failed load, or a dry run, drops them; a killed
 * one leaves them for the next import's dropLeftovers. Labels new to the load are committed
 * as they come (ip_label's rows will name them), and removed again if the load does not commit.
 */
export class MariadbFirstLoad {
  readonly #conn: Connection;
  readonly #feedId: number;
  /** The label ids before the load: higher ones are the load's own. */
  readonly #labelsBefore: number;
  readonly #definitions: Record<Table, Definition>;
  #switched = false;

  /** Starts a first load when ip_data is empty (no feed holds anything); else undefined. */
  static async begin(conn: Connection, feedId: number): Promise<MariadbFirstLoad | undefined> {
    if ((await conn.query<unknown[]>('SELECT 1 FROM ip_data LIMIT 1')).length) return undefined;
    // A store that imported before (its feeds since expired) keeps history, which a load
    // switched in by DDL, outside the transaction, would not: it loads as any import.
    if ((await conn.query<unknown[]>(ANY_RUN_SQL)).length) return undefined;
    const [labels] = await conn.query<{ id: number }[]>('SELECT COALESCE(MAX(id), 0) AS id FROM label');
    const definitions = { ip_data: await definition(conn, 'ip_data'), ip_label: await definition(conn, 'ip_label') };
    // From here on the statements commit on their own: DDL ends the import's transaction.
    await conn.query('CREATE TABLE ip_data_load LIKE ip_data');
    await conn.query(
      `ALTER TABLE ip_data_load ${[...definitions.ip_data.keys.map(dropKey), 'ADD COLUMN load_line INT UNSIGNED NOT NULL', 'ADD PRIMARY KEY (load_line)'].join(', ')}`,
    );
    await conn.query('CREATE TABLE ip_label_load LIKE ip_label');
    return new MariadbFirstLoad(conn, feedId, labels!.id, definitions);
  }

  private constructor(conn: Connection, feedId: number, labelsBefore: number, definitions: Record<Table, Definition>) {
    this.#conn = conn;
    this.#feedId = feedId;
    this.#labelsBefore = labelsBefore;
    this.#definitions = definitions;
  }

  /** The statement and rows that append the records (label ids as ip_data.label_ids keeps them). */
  append(records: LoadRecord[], labelIds: string[], at: number): [string, unknown[][]] {
    const rows = records.map((r, i) => [
      r.line,
      r.address.bytes,
      r.address.prefixLen,
      this.#feedId,
      r.address.text,
      r.json,
      labelIds[i],
      r.hash,
      at,
    ]);
    return [APPEND_SQL, rows];
  }

  /**
   * Gives ip_data_load ip_data's keys, fills ip_label_load. The rebuild's unique key finds
   * whether a key repeats (real feeds seldom repeat one): only then are the repeats found,
   * visited and their later lines removed, and the rebuild run again.
   */
  async finish(visit: (duplicate: LoadDuplicate) => void): Promise<void> {
    const conn = this.#conn;
    const keys = this.#definitions.ip_data.keys.map((key) => `ADD ${key}`);
    const rebuild = `ALTER TABLE ip_data_load DROP PRIMARY KEY, DROP COLUMN load_line, ${keys.join(', ')}`;
    try {
      await conn.query(rebuild);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      await this.#removeRepeats(visit);
      await conn.query(rebuild);
    }
    // In ip_data's key order, each label's rows arrive in its own key order: appends at a few hundred places.
    await conn.query(
      `INSERT INTO ip_label_load (label_id, ip, prefix_len, feed_id)
       SELECT j.label_id, d.ip, d.prefix_len, d.feed_id
         FROM ip_data_load d JOIN JSON_TABLE(d.label_ids, '$[*]' COLUMNS (label_id INT UNSIGNED PATH '$')) j`,
    );
  }

  /** Removes the later lines of repeated keys, visiting each in line order; an ALTER failed on them and left the table as it was. */
  async #removeRepeats(visit: (duplicate: LoadDuplicate) => void): Promise<void> {
    const conn = this.#conn;
    await conn.query('ALTER TABLE ip_data_load ADD INDEX load_key (ip, prefix_len)');
    const repeats = await conn.query<{ line: number; first: number; address: string }[]>(
      `SELECT l.load_line AS line, f.first, l.ip_text AS address
         FROM (SELECT ip, prefix_len, MIN(load_line) AS first FROM ip_data_load GROUP BY ip, prefix_len HAVING COUNT(*) > 1) f
         JOIN ip_data_load l ON l.ip = f.ip AND l.prefix_len = f.prefix_len AND l.load_line <> f.first
        ORDER BY l.load_line`,
    );
    for (const { line, first, address } of repeats) visit({ line, firstLine: first, address });
    if (repeats.length)
      await conn.batch(
        'DELETE FROM ip_data_load WHERE load_line = ?',
        repeats.map((r) => [r.line]),
      );
    await conn.query('ALTER TABLE ip_data_load DROP INDEX load_key');
  }

  /** Gives the work tables the live ones' foreign keys, then switches them in with one RENAME TABLE. */
  async switchIn(): Promise<void> {
    const conn = this.#conn;
    for (const table of TABLES) {
      await renameForeignKeys(conn, table, switching);
      const adds = this.#definitions[table].foreignKeys.map(({ name, clause }) => `ADD CONSTRAINT \`${name}\` ${clause}`);
      if (adds.length) await withoutForeignKeyChecks(conn, () => conn.query(`ALTER TABLE ${loadTable(table)} ${adds.join(', ')}`));
    }
    await conn.query(
      `RENAME TABLE ${TABLES.flatMap((table) => [`${table} TO ${oldTable(table)}`, `${loadTable(table)} TO ${table}`]).join(', ')}`,
    );
    this.#switched = true;
  }

  /** Drops the work tables (after the switch, the replaced ones) and, unless switched in, the load's labels. */
  async discard(): Promise<void> {
    await dropWorkTables(this.#conn);
    // Nothing names them: ip_data was empty, and the load's rows are gone.
    if (!this.#switched) await this.#conn.query('DELETE FROM label WHERE id > ?', [this.#labelsBefore]);
  }
}
