import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { importFeed, ImportFailedError } from '../../src/import/importer.ts';
import { openStore } from '../../src/store/open.ts';
import { quietLogger, SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';

/*
 * A first load into an empty SQLite store drops the secondary indexes and builds them at
 * commit. Whatever the outcome, the store must end with the schema its migrations made.
 */
function indexes(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
      .all()
      .map((row) => row.sql);
  } finally {
    db.close();
  }
}

async function schemaAfter(feed: string): Promise<{ migrated: string[]; after: string[]; failed: boolean }> {
  const path = join(tempDir(), 'ipoid.db');
  const store = await openStore(`sqlite:${path}`);
  try {
    const migrated = indexes(path);
    const failed = await importFeed(store, feed, { feed: 'anonymous', logger: quietLogger }).then(
      () => false,
      (err: unknown) => err instanceof ImportFailedError,
    );
    return { migrated, after: indexes(path), failed };
  } finally {
    await store.close();
  }
}

test('a first load that succeeds leaves every index the migrations made', async () => {
  const { migrated, after, failed } = await schemaAfter(SAMPLE_FEED);
  assert.equal(failed, false);
  assert.ok(migrated.some((sql) => sql.includes('ip_label_record')));
  assert.deepEqual(after, migrated);
});

test('a first load that fails leaves every index the migrations made', async () => {
  const truncated = join(tempDir(), 'cut.jsonl');
  writeFileSync(truncated, '{"ip":"192.0.2.1"}\n{"ip":"192.0.2.2"');
  const { migrated, after, failed } = await schemaAfter(truncated);
  assert.equal(failed, true);
  assert.deepEqual(after, migrated);
});
