import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { parseIp } from '../../src/feed/ip.ts';
import { importFeed } from '../../src/import/importer.ts';
import { openStore } from '../../src/store/open.ts';
import { SQLITE_PAGE_SIZE } from '../../src/store/sqlite/sqlite-store.ts';
import { quietLogger, SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';

/*
 * A new SQLite store takes SQLITE_PAGE_SIZE (larger pages, fewer frames in a big diff's
 * write-ahead log to search); a file written before keeps the page size it has.
 */
const pageSize = (path: string): number => {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('page_size', { simple: true }) as number;
  } finally {
    db.close();
  }
};

async function importSample(path: string): Promise<void> {
  const store = await openStore(`sqlite:${path}`);
  try {
    const run = await importFeed(store, SAMPLE_FEED, { feed: 'anonymous', logger: quietLogger, feedDate: '2026-11-01' });
    assert.equal(run.status, 'succeeded');
    assert.ok(run.inserted > 0);
    assert.equal((await store.lookup(parseIp('1.1.1.1'))).length, 1);
  } finally {
    await store.close();
  }
}

test('a new SQLite store is made with SQLITE_PAGE_SIZE pages, in WAL mode', async () => {
  assert.notEqual(SQLITE_PAGE_SIZE, 4096, 'the page size differs from SQLite default, so that this test tells them apart');
  const path = join(tempDir(), 'new.db');
  await importSample(path);
  assert.equal(pageSize(path), SQLITE_PAGE_SIZE);
  const db = new Database(path, { readonly: true });
  try {
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  } finally {
    db.close();
  }
});

test('a SQLite file written before keeps its page size, and imports into it', async () => {
  const path = join(tempDir(), 'earlier.db');
  const db = new Database(path);
  db.pragma('page_size = 4096');
  db.exec('CREATE TABLE written_before (id INTEGER PRIMARY KEY)');
  db.close();
  await importSample(path);
  assert.equal(pageSize(path), 4096);
});
