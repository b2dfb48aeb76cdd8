import { createHash } from 'node:crypto';
import mariadb, { type Connection, type ConnectionConfig } from 'mariadb';
import { redactUrl } from '../../log.ts';

export type ConnectionOptions = ConnectionConfig & { database: string };

/** Parses `mariadb://user:password@host:port/database` into connector options. */
export function connectionOptions(url: string): ConnectionOptions {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`no database in ${redactUrl(url)}: use mariadb://user:pass@host:port/db`);
  return {
    host: parsed.hostname || 'localhost',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    // Times cross the wire as unix seconds (FROM_UNIXTIME/UNIX_TIMESTAMP), read in UTC.
    initSql: "SET time_zone = '+00:00'",
    charset: 'utf8mb4',
    bigIntAsNumber: true,
    insertIdAsNumber: true,
    // Contexts are parsed by the store, exactly as the SQLite store does.
    autoJsonMap: false,
    // Error messages quote the SQL but never its values: the addresses a client asked about
    // are privileged, and the logs are not.
    logParam: false,
  };
}

/** One dedicated connection (never pooled): user locks and temporary tables live and die with it. */
export async function connect(options: ConnectionOptions, extra: ConnectionConfig = {}): Promise<Connection> {
  const conn = await mariadb.createConnection({ ...options, ...extra });
  // A connection lost while idle (the server shut down between two batches) is reported as
  // an 'error' event, which unheard would end the process; the next command on it fails
  // with the reason, and that failure is the import's.
  conn.on('error', () => {});
  return conn;
}

const LOCK_NAME_MAX = 64;

/**
 * Name of a server-wide user lock, scoped to one database so that imports into two
 * databases on the same server don't exclude each other.
 */
export function lockName(purpose: 'migrate' | 'import', database: string): string {
  const name = `ipoid_${purpose}:${database}`;
  if (name.length <= LOCK_NAME_MAX) return name;
  return `ipoid_${purpose}:${createHash('sha1').update(database).digest('hex')}`;
}

/** Takes a user lock; false when another session still holds it after `waitSeconds`. */
export async function getLock(conn: Connection, name: string, waitSeconds: number): Promise<boolean> {
  const [row] = await conn.query<{ locked: number | null }[]>('SELECT GET_LOCK(?, ?) AS locked', [name, waitSeconds]);
  return row?.locked === 1;
}
