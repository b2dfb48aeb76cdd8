import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import Database from 'better-sqlite3';
import mariadb, { type Connection } from 'mariadb';
import { openStore } from '../../src/store/open.ts';
import type { Store, StoreOptions } from '../../src/store/types.ts';

/** A fresh, empty database for one test: its URL and how to throw it away. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export interface StoreTarget {
  name: 'sqlite' | 'mariadb';
  createDatabase(): Promise<TestDatabase>;
}

/**
 * MariaDB runs when IPOID_TEST_MARIADB_URL names a server (CI always sets it, and then an
 * unreachable server fails the suite); without it those tests show as skipped.
 */
export const MARIADB_URL = process.env.IPOID_TEST_MARIADB_URL;

let counter = 0;
const uniqueName = (): string => `ipoid_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;

const sqliteTarget: StoreTarget = {
  name: 'sqlite',
  async createDatabase() {
    const dir = mkdtempSync(join(tmpdir(), 'ipoid-test-'));
    return { url: `sqlite:${join(dir, 'ipoid.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

/** A connection to the server a mariadb:// URL names, as its user, outside any database. */
export function serverConnection(url: string): Promise<Connection> {
  const server = new URL(url);
  return mariadb.createConnection({
    host: server.hostname,
    port: Number(server.port || 3306),
    user: decodeURIComponent(server.username),
    password: decodeURIComponent(server.password),
  });
}

function mariadbTarget(serverUrl: string): StoreTarget {
  return {
    name: 'mariadb',
    async createDatabase() {
      const name = uniqueName();
      const admin = () => serverConnection(serverUrl);
      const conn = await admin();
      await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
      await conn.end();
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        drop: async () => {
          const c = await admin();
          await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
          await c.end();
        },
      };
    },
  };
}

export const STORE_TARGETS: StoreTarget[] = [sqliteTarget, ...(MARIADB_URL ? [mariadbTarget(MARIADB_URL)] : [])];

/** Registers the same suite once per store; MariaDB shows as skipped when not configured. */
export function forEachStore(suite: (target: StoreTarget) => void): void {
  for (const target of STORE_TARGETS) describe(`store: ${target.name}`, () => suite(target));
  if (!MARIADB_URL)
    describe('store: mariadb', { skip: 'set IPOID_TEST_MARIADB_URL=mariadb://root@127.0.0.1:3306/ipoid_test to run' }, () => {});
}

/** Opens a store on a fresh database; `close` closes it and drops the database. */
export async function freshStore(
  target: StoreTarget,
  options: StoreOptions = {},
): Promise<{ store: Store; url: string; close: () => Promise<void> }> {
  const db = await target.createDatabase();
  const store = await openStore(db.url, options);
  return {
    store,
    url: db.url,
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
}

/** A MariaDB user of `dbUrl`'s database, with its URL; `drop` removes it. */
export interface DatabaseUser {
  url: string;
  drop(): Promise<void>;
}

/** Creates (or replaces) MariaDB user `user` with `password` and `privileges` on `dbUrl`'s database. */
export async function mariadbUser(dbUrl: string, user: string, password: string, privileges: 'SELECT' | 'ALL'): Promise<DatabaseUser> {
  const admin = () => serverConnection(dbUrl);
  const conn = await admin();
  await conn.query(`CREATE OR REPLACE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
  await conn.query(`GRANT ${privileges} ON \`${new URL(dbUrl).pathname.slice(1)}\`.* TO '${user}'@'%'`);
  await conn.end();
  const url = new URL(dbUrl);
  url.username = user;
  url.password = password;
  return {
    url: url.toString(),
    drop: async () => {
      const c = await admin();
      await c.query(`DROP USER IF EXISTS '${user}'@'%'`);
      await c.end();
    },
  };
}

/**
 * A URL reading `dbUrl` without write rights: a SELECT-only MariaDB user (dropped by
 * `drop`); SQLite opens the file read-only from the same URL.
 */
export async function readOnlyUser(target: StoreTarget, dbUrl: string): Promise<DatabaseUser> {
  if (target.name === 'sqlite') return { url: dbUrl, drop: async () => undefined };
  return mariadbUser(dbUrl, `ipoid_ro_${process.pid}`, 'read-only-pw', 'SELECT');
}

/** One table or view of a database: its definition as the database prints it, and its rows. */
export interface TableState {
  name: string;
  definition: string;
  rows: number;
}

/** The tables' definitions alone, to compare before and after a load. */
export const definitionsOf = (tables: TableState[]): Omit<TableState, 'rows'>[] =>
  tables.map(({ name, definition }) => ({ name, definition }));

/**
 * Runs statements, in order on one connection, on the store's database behind IPoid's back:
 * what another program (or a person) could do to it.
 */
export async function execBehind(url: string, sql: string | string[]): Promise<void> {
  const statements = typeof sql === 'string' ? [sql] : sql;
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length));
    try {
      for (const statement of statements) db.exec(statement);
    } finally {
      db.close();
    }
    return;
  }
  const conn = await serverConnection(url);
  try {
    await conn.query(`USE \`${new URL(url).pathname.slice(1)}\``);
    for (const statement of statements) await conn.query(statement);
  } finally {
    await conn.end();
  }
}

/**
 * Every table and view of the store's database, by name: what "the store as before" means
 * beyond its records. MariaDB's AUTO_INCREMENT counters are left out: InnoDB never takes
 * back the ids a rolled-back insert used.
 */
export async function databaseTables(url: string): Promise<TableState[]> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      const tables = db
        .prepare<[], { name: string; type: string; sql: string }>(
          `SELECT name, type, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name`,
        )
        .all();
      return tables.map(({ name, type, sql }) => ({
        name,
        definition: sql,
        rows: type === 'table' ? db.prepare<[], number>(`SELECT COUNT(*) FROM "${name}"`).pluck().get()! : 0,
      }));
    } finally {
      db.close();
    }
  }
  const conn = await serverConnection(url);
  try {
    await conn.query(`USE \`${new URL(url).pathname.slice(1)}\``);
    const tables = await conn.query<Record<string, string>[]>('SHOW FULL TABLES');
    const states: TableState[] = [];
    for (const row of tables) {
      const [name, type] = Object.values(row) as [string, string];
      const [created] = await conn.query<Record<string, string>[]>(`SHOW CREATE TABLE \`${name}\``);
      const [count] = type === 'VIEW' ? [{ n: 0 }] : await conn.query<{ n: bigint }[]>(`SELECT COUNT(*) AS n FROM \`${name}\``);
      states.push({ name, definition: Object.values(created!)[1]!.replace(/ AUTO_INCREMENT=\d+/, ''), rows: Number(count.n) });
    }
    return states.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    await conn.end();
  }
}
