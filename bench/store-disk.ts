/*
 * Disk that a benchmark store takes: at rest (its size) and while an import runs (a probe to
 * poll). MariaDB's files are reachable only when its datadir is on this machine.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sqlitePath, withServer } from './databases.ts';
import type { DiskProbe } from './imports.ts';
import { sqliteDiskBytes, treeDiskBytes } from './measure.ts';

export interface StoreSize {
  /** SQLite: the file after a checkpoint; MariaDB: data_length + index_length of its tables. */
  bytes: number;
  /** MariaDB: its database folder in the datadir, when reachable. */
  folderBytes: number | null;
}

/** The datadir when this process can read it (MariaDB runs on this machine), else null. */
export function reachableDatadir(datadir: string | null): string | null {
  if (!datadir) return null;
  try {
    accessSync(datadir, constants.R_OK);
    return datadir;
  } catch {
    return null;
  }
}

export async function storeSize(url: string, datadir: string | null): Promise<StoreSize> {
  const path = sqlitePath(url);
  if (path) {
    // The WAL folded into the file and truncated: the size the data settles at.
    const db = new Database(path);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    return { bytes: statSync(path).size, folderBytes: null };
  }
  return withServer(url, async (conn, database) => {
    const tables = await conn.query<{ name: string }[]>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'",
      [database],
    );
    // InnoDB's figures are estimates refreshed now and then; fresh ones, after a load.
    for (const { name } of tables) await conn.query(`ANALYZE TABLE \`${database}\`.\`${name}\``);
    const [row] = await conn.query<{ bytes: number | bigint | null }[]>(
      'SELECT SUM(data_length + index_length) AS bytes FROM information_schema.tables WHERE table_schema = ?',
      [database],
    );
    return { bytes: Number(row!.bytes ?? 0), folderBytes: datadir ? treeDiskBytes(join(datadir, database)) : null };
  });
}

/**
 * SQLite: the database's files and the importer's temporary files. MariaDB: how much the whole
 * datadir grew since the probe was made (other databases' writes count too; InnoDB's shared
 * files never shrink, so space reused reads as no growth); null when the datadir is not reachable.
 */
export function importDiskProbe(url: string, datadir: string | null): DiskProbe | null {
  const path = sqlitePath(url);
  if (path) return (pid) => sqliteDiskBytes(path, pid);
  if (!datadir) return null;
  const before = treeDiskBytes(datadir);
  return () => treeDiskBytes(datadir) - before;
}
