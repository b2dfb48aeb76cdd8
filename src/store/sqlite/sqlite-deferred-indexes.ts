import type Database from 'better-sqlite3';

/*
 * A first load into an empty store inserts every record at a random place of every index:
 * at tens of millions of records most inserts miss the page cache. Dropping the secondary
 * indexes for that load and building them at commit (CREATE INDEX sorts once, then writes
 * each index in order) costs a fraction of it. Inside the import's transaction, so readers
 * keep the old schema and a failed load gets its indexes back with the rollback.
 */
const DEFERRABLE = ['ip_data_key', 'ip_data_hash', 'ip_data_network_length', 'ip_label_record'];

export interface DeferredIndex {
  name: string;
  sql: string;
}

/** Drops the secondary indexes when no feed holds anything; answers how to build them again. */
export function deferIndexesOfEmptyStore(db: Database.Database): DeferredIndex[] {
  if (db.prepare('SELECT 1 FROM ip_data LIMIT 1').get() !== undefined) return [];
  const indexes = db
    .prepare<string[], DeferredIndex>(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND name IN (${DEFERRABLE.map(() => '?').join(', ')})`,
    )
    .all(...DEFERRABLE);
  for (const { name } of indexes) db.exec(`DROP INDEX "${name}"`);
  return indexes;
}

export function buildIndexes(db: Database.Database, indexes: readonly DeferredIndex[]): void {
  for (const { sql } of indexes) db.exec(sql);
}
