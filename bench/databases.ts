/*
 * The benchmarks' databases: a SQLite file in bench/out/ or a MariaDB database named after
 * IPOID_BENCH_MARIADB_URL (default mariadb://root@127.0.0.1:3306/ipoid_bench), and what the
 * server behind it says about itself.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import mariadb, { type Connection } from 'mariadb';
import { connectionOptions } from '../src/store/mariadb/mariadb-connection.ts';
import { OUT } from './feeds.ts';

const MARIADB_URL = process.env.IPOID_BENCH_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/ipoid_bench';

/** A database of one benchmark's own: `sqlite:bench/out/<name>.db`, or `<database>_<name>` (`''`: the URL's database itself). */
export function benchDatabaseUrl(store: string, name: string): string {
  if (store === 'sqlite') return `sqlite:${join(OUT, `${name || 'bench'}.db`)}`;
  if (store !== 'mariadb') throw new Error(`unknown store ${store}: use sqlite or mariadb`);
  const url = new URL(MARIADB_URL);
  if (name) url.pathname = `${url.pathname}_${name}`;
  return url.toString();
}

/** The SQLite file a `sqlite:` URL names, or null for MariaDB. */
export function sqlitePath(url: string): string | null {
  return url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : null;
}

/** Runs `action` on a connection to the server (no database selected) behind a MariaDB URL. */
export async function withServer<T>(url: string, action: (conn: Connection, database: string) => Promise<T>): Promise<T> {
  const { database, ...options } = connectionOptions(url);
  const conn = await mariadb.createConnection(options);
  try {
    return await action(conn, database);
  } finally {
    await conn.end();
  }
}

/** Removes the database a URL names: the SQLite file with its WAL, or the MariaDB database. */
export async function dropDatabase(url: string): Promise<void> {
  const path = sqlitePath(url);
  if (path) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    return;
  }
  await withServer(url, (conn, database) => conn.query(`DROP DATABASE IF EXISTS \`${database}\``));
}

/** An empty database at the URL (the store creates its schema on open). */
export async function freshDatabase(url: string): Promise<string> {
  await dropDatabase(url);
  if (!sqlitePath(url)) {
    await withServer(url, (conn, database) => conn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`));
  }
  return url;
}

export interface MariadbServer {
  version: string;
  bufferPoolBytes: number;
  datadir: string;
}

export async function mariadbServer(url = MARIADB_URL): Promise<MariadbServer> {
  return withServer(url, async (conn) => {
    const [row] = await conn.query<{ version: string; pool: number | bigint; datadir: string }[]>(
      'SELECT VERSION() AS version, @@innodb_buffer_pool_size AS pool, @@datadir AS datadir',
    );
    return { version: row!.version, bufferPoolBytes: Number(row!.pool), datadir: row!.datadir };
  });
}

const SETTLED_DIRTY_PAGES = 1000;
const SETTLED_HISTORY_LENGTH = 10_000;

/**
 * Writes out and purges what the last big import left a MariaDB server (a diff started while
 * the load's pages are still dirty pays for flushing them too), as a server does in the hours
 * between two days. A server with the default settings does not flush below 90% dirty pages
 * until its redo log asks it to, so the flushing is raised while it waits (all dirty pages,
 * at up to 20,000 pages a second), then set back. Returns the seconds waited, at most
 * `maxSeconds`; 0 for SQLite.
 */
export async function settle(url: string, maxSeconds = 1800): Promise<number> {
  if (sqlitePath(url)) return 0;
  const start = performance.now();
  return withServer(url, async (conn) => {
    const [saved] = await conn.query<{ pct: number; io: number; max: number }[]>(
      'SELECT @@innodb_max_dirty_pages_pct AS pct, @@innodb_io_capacity AS io, @@innodb_io_capacity_max AS max',
    );
    await conn.query('SET GLOBAL innodb_io_capacity_max = 40000, innodb_io_capacity = 20000, innodb_max_dirty_pages_pct = 0');
    try {
      for (;;) {
        const rows = await conn.query<{ Variable_name: string; Value: string }[]>(
          "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', 'Innodb_history_list_length')",
        );
        const value = (name: string) => Number(rows.find((r) => r.Variable_name === name)?.Value ?? 0);
        const waited = (performance.now() - start) / 1000;
        const settled =
          value('Innodb_buffer_pool_pages_dirty') <= SETTLED_DIRTY_PAGES && value('Innodb_history_list_length') <= SETTLED_HISTORY_LENGTH;
        if (settled || waited >= maxSeconds) return waited;
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    } finally {
      await conn.query('SET GLOBAL innodb_max_dirty_pages_pct = ?, innodb_io_capacity = ?, innodb_io_capacity_max = ?', [
        saved!.pct,
        saved!.io,
        saved!.max,
      ]);
    }
  });
}
