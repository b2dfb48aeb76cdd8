import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { importFeed, ImportRefusedError } from '../../src/import/importer.ts';
import { connect, connectionOptions } from '../../src/store/mariadb/mariadb-connection.ts';
import { MARIADB_MIGRATIONS } from '../../src/store/mariadb/mariadb-migrations.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/sqlite-migrations.ts';
import { openStore } from '../../src/store/open.ts';
import { quietLogger, SAMPLE_FEED, gzipToTemp } from '../helpers/fixtures.ts';
import { forEachStore, type StoreTarget, type TestDatabase } from '../helpers/stores.ts';

// A run as release 1 recorded it, before status 'refused' existed.
const OLD_RUN = `INSERT INTO import_run (feed_id, feed_date, file, started_at, finished_at, lines_read, lines_skipped,
  inserted, updated, deleted, records, status, error, skipped_sample) VALUES (1, '2026-01-01', 'old.json.gz', 1767225600,
  1767225660, 10, 0, 10, 0, 0, 10, 'succeeded', NULL, '[]')`;

/** A database with only the first, released migration applied, holding one run. */
async function releaseOneDatabase(target: StoreTarget, db: TestDatabase): Promise<void> {
  if (target.name === 'sqlite') {
    const sqlite = new Database(resolve(db.url.slice('sqlite:'.length)));
    try {
      sqlite.exec(`CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))`);
      sqlite.exec(SQLITE_MIGRATIONS[0]!);
      sqlite.exec('INSERT INTO schema_migration (version) VALUES (1)');
      sqlite.exec(OLD_RUN);
    } finally {
      sqlite.close();
    }
    return;
  }
  const conn = await connect(connectionOptions(db.url));
  try {
    await conn.query(
      'CREATE TABLE schema_migration (version INT UNSIGNED NOT NULL PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)',
    );
    for (const statement of MARIADB_MIGRATIONS[0]!) {
      if (typeof statement === 'string') await conn.query(statement);
      else await conn.query(statement[0], statement[1]);
    }
    await conn.query('INSERT INTO schema_migration (version) VALUES (1)');
    await conn.query(OLD_RUN.replace(/(1767225\d{3})/g, 'FROM_UNIXTIME($1)'));
  } finally {
    await conn.end();
  }
}

forEachStore((target) => {
  let db: TestDatabase;
  before(async () => {
    db = await target.createDatabase();
    await releaseOneDatabase(target, db);
  });
  after(async () => db.drop());

  test('opened read-only (as the API opens it), a database of release 1 is refused at start with what to do', async () => {
    const needed = target.name === 'sqlite' ? SQLITE_MIGRATIONS.length : MARIADB_MIGRATIONS.length;
    await assert.rejects(
      openStore(db.url, { readOnly: true }),
      new RegExp(`has schema version 1, this IPoid needs ${needed}: open it once without read-only to migrate`),
    );
  });

  test('a database of release 1 is migrated to record refused runs, keeping its runs', async () => {
    const store = await openStore(db.url);
    try {
      const [old] = await store.importRuns(10);
      assert.deepEqual(
        [old?.file, old?.feedDate, old?.status, old?.records, old?.startedAt.getTime()],
        ['old.json.gz', '2026-01-01', 'succeeded', 10, 1767225600_000],
      );
      await importFeed(store, SAMPLE_FEED, { feed: 'anonymous', logger: quietLogger });
      await assert.rejects(
        importFeed(store, gzipToTemp('{"ip":"10.0.0.1"}\n'), { feed: 'anonymous', logger: quietLogger }),
        ImportRefusedError,
      );
      const [refused] = await store.importRuns(1);
      assert.equal(refused?.status, 'refused');
      assert.deepEqual((await store.feedStatus())[0]?.lastRefused, refused);
      assert.equal((await store.importRuns(10)).length, 3);
    } finally {
      await store.close();
    }
    // Opening again applies nothing twice.
    await (await openStore(db.url)).close();
  });
});
