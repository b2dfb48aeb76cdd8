/** The newest applied migration, from the `schema_migration` table both stores keep. */
export const SCHEMA_VERSION_SQL = 'SELECT MAX(version) AS version FROM schema_migration';

/**
 * A store opened read-only cannot migrate: it fails at start, saying what to do, when its
 * schema is older than the one this code reads.
 */
export function checkSchemaVersion(database: string, version: number | null | undefined, needed: number): void {
  if ((version ?? 0) < needed) {
    throw new Error(
      `database ${database} has schema version ${version ?? 0}, this IPoid needs ${needed}: open it once without read-only to migrate`,
    );
  }
}
