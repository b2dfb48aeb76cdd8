import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { finished, jsonLines, runCli, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { tempDir } from '../helpers/fixtures.ts';
import { storedRecords } from '../helpers/snapshot.ts';

/*
 * SQLite only: a first import into an empty file that no other connection has open writes
 * the database directly, in rollback-journal mode, and returns the file to WAL mode when it
 * ends, however it ends. Imports are CLI processes, as a CronJob runs them.
 */

const dir = tempDir();
const feed = join(dir, 'day1.json.gz');
let day1: string[];

before(async () => {
  const generated = await runCli(['generate', '--count', '20000', '--seed', '21', '--out', feed]);
  assert.equal(generated.code, 0, generated.stderr);
  // What the feed looks like loaded the usual way, through the write-ahead log.
  await withStore(join(dir, 'reference.db'), async (reference) => {
    const loading = spawnCli(['import', feed], { IPOID_DB_URL: `sqlite:${join(dir, 'reference.db')}` });
    assert.equal((await finished(loading)).code, 0);
    day1 = await contents(reference);
  });
});

/** Every stored record as `feed key context`, in list order: what two loads of one feed must agree on (their import times differ). */
async function contents(store: Store): Promise<string[]> {
  return (await storedRecords(store)).map((r) => `${r.feed} ${r.key} ${JSON.stringify(r.context)}`);
}

let counter = 0;
const freshPath = (): string => join(dir, `store-${counter++}.db`);

async function withStore<T>(path: string, use: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(`sqlite:${path}`);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** The file's journal mode as a new connection finds it. */
function journalMode(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('journal_mode', { simple: true }) as string;
  } finally {
    db.close();
  }
}

/** Starts `ipoid import FILE` and resolves once its first batch is written. */
async function importUnderway(
  path: string,
  file: string,
): Promise<{ done: ReturnType<typeof finished>; signal: (signal: NodeJS.Signals) => void }> {
  const child = spawnCli(['import', file], { IPOID_DB_URL: `sqlite:${path}`, IPOID_LOG_LEVEL: 'debug' });
  const done = finished(child);
  await waitForOutput(child, 'import batch applied');
  return { done, signal: (signal) => child.kill(signal) };
}

describe('store: sqlite, first load of an empty file', () => {
  test('with no one else holding the file, the load writes the database directly and leaves it in WAL mode', async () => {
    const path = freshPath();
    await withStore(path, async () => {}); // the schema, as `ipoid serve` or a first import would create it
    const load = await importUnderway(path, feed);
    const underway = { journal: existsSync(`${path}-journal`), wal: existsSync(`${path}-wal`) };
    const result = await load.done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(underway, { journal: true, wal: false }, 'the load writes through a rollback journal, not the write-ahead log');
    assert.equal(journalMode(path), 'wal');
    assert.deepEqual(await withStore(path, contents), day1);
  });

  test('with a reader holding the file open, the load goes through the WAL and the reader keeps reading', async () => {
    const path = freshPath();
    await withStore(path, async (reader) => {
      const load = await importUnderway(path, feed);
      const underway = { journal: existsSync(`${path}-journal`), stored: (await contents(reader)).length };
      assert.equal((await load.done).code, 0);
      assert.deepEqual(underway, { journal: false, stored: 0 });
      assert.deepEqual(await contents(reader), day1);
    });
    assert.equal(journalMode(path), 'wal');
  });

  test('a load underway refuses a concurrent import; killed, it leaves the store empty and back in WAL mode once opened', async () => {
    const path = freshPath();
    await withStore(path, async () => {});
    const load = await importUnderway(path, feed);
    load.signal('SIGSTOP'); // held mid-load, its transaction open
    const concurrent = await runCli(['import', feed], { IPOID_DB_URL: `sqlite:${path}` });
    assert.equal(concurrent.code, 3, concurrent.stderr);
    assert.match(concurrent.stderr, /another import is running/);
    load.signal('SIGKILL');
    assert.equal((await load.done).signal, 'SIGKILL');
    await withStore(path, async (store) => assert.deepEqual(await contents(store), []));
    assert.equal(journalMode(path), 'wal');
    const rerun = await runCli(['import', feed], { IPOID_DB_URL: `sqlite:${path}` });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(await withStore(path, contents), day1);
  });

  test('once the load holds the file for its writes, a process opening the store is told so; an import exits 3', async () => {
    const path = freshPath();
    await withStore(path, async () => {});
    // A load that has begun writing pages holds the file exclusively, its rollback journal beside it.
    const load = new Database(path);
    load.pragma('journal_mode = DELETE');
    load.exec('BEGIN EXCLUSIVE; CREATE TABLE load_underway (x)');
    try {
      const env = { IPOID_DB_URL: `sqlite:${path}` };
      const [concurrent, lookup] = await Promise.all([runCli(['import', feed], env), runCli(['lookup', '1.2.3.4'], env)]);
      assert.equal(concurrent.code, 3, concurrent.stderr);
      for (const { stderr } of [concurrent, lookup])
        assert.match(stderr, /an import is loading the empty store .* try again when it has finished/);
    } finally {
      load.exec('ROLLBACK');
      load.close();
    }
    assert.deepEqual(await withStore(path, contents), []);
  });

  test("a read-only server finding a killed load's journal says so; a read-write open rolls it back", async () => {
    const path = freshPath();
    await withStore(path, async () => {});
    // A load killed after its writes reached the file: a small page cache spills them at once.
    const killed = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(${JSON.stringify(path)});
         db.pragma('journal_mode = DELETE'); db.pragma('cache_size = 2');
         db.exec('BEGIN; CREATE TABLE load_underway (x)');
         for (let i = 0; i < 1000; i++) db.prepare('INSERT INTO load_underway VALUES (?)').run('x'.repeat(1000));
         process.kill(process.pid, 'SIGKILL');`,
      ],
      { cwd: join(import.meta.dirname, '..', '..') },
    );
    assert.equal((await finished(killed)).signal, 'SIGKILL');
    const server = await runCli(['serve'], { IPOID_DB_READ_URL: `sqlite:${path}`, IPOID_PORT: '0' });
    assert.equal(server.code, 1, server.stderr);
    assert.match(server.stderr, /rollback journal of an import killed while it loaded the empty store/);
    await withStore(path, async (store) => assert.deepEqual(await contents(store), []));
    assert.equal(journalMode(path), 'wal');
  });

  test('a failed load and a dry run leave the file empty and in WAL mode, the failure recorded', async () => {
    const path = freshPath();
    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, 'not json\n'.repeat(10));
    const failed = await runCli(['import', broken], { IPOID_DB_URL: `sqlite:${path}` });
    assert.equal(failed.code, 1, failed.stderr);
    assert.equal(journalMode(path), 'wal');
    const dryRun = await runCli(['import', feed, '--dry-run'], { IPOID_DB_URL: `sqlite:${path}` });
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.equal(jsonLines(dryRun.stdout)[0]!.inserted, 20000);
    assert.equal(journalMode(path), 'wal');
    await withStore(path, async (store) => {
      assert.deepEqual(await contents(store), []);
      assert.deepEqual(
        (await store.importRuns({ limit: 10 })).map((run) => run.status),
        ['failed'],
      );
    });
  });
});
