import { resolve } from 'node:path';
import { redactUrl } from '../log.ts';
import type { Store, StoreOptions } from './types.ts';

export const DEFAULT_DB_URL = 'sqlite:data/ipoid.db';

/**
 * Opens the store a URL names and brings its schema up to date (unless read-only):
 * `sqlite:PATH` (relative to the working directory, or absolute) for the embedded store,
 * `mariadb://user:password@host:port/database` for MariaDB.
 */
export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const { SqliteStore } = await import('./sqlite/sqlite-store.ts');
    return new SqliteStore(resolve(url.slice('sqlite:'.length)), options);
  }
  if (url.startsWith('mariadb://') || url.startsWith('mysql://')) {
    const { MariadbStore } = await import('./mariadb/mariadb-store.ts');
    return MariadbStore.open(url, options);
  }
  throw new Error(`unsupported database URL ${redactUrl(url)}: use sqlite:PATH or mariadb://user:pass@host:port/db`);
}
