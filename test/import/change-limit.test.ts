import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadImportConfig } from '../../src/config.ts';
import { importFeed, ImportRefusedError, type ImportOptions } from '../../src/import/importer.ts';
import { parseChangeRatio, tooManyChanges } from '../../src/import/limits.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { jsonLines, runCli } from '../helpers/cli.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { storedSnapshot } from '../helpers/snapshot.ts';
import { forEachStore, STORE_TARGETS, type TestDatabase } from '../helpers/stores.ts';

const dir = tempDir();
const STORED = 100;

/** Records 0..count-1 of one family of IPs; `changed` of them (from the first) with another risk. */
function feed(name: string, count: number, changed = 0): string {
  const lines = Array.from(
    { length: count },
    (_, i) => `{"ip":"10.7.${i >> 8}.${i & 255}","risks":["${i < changed ? 'CALLBACK_PROXY' : 'TUNNEL'}"]}`,
  );
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('the share of stored records an import may change', () => {
  test('is a number from 0 to 1 from IPOID_MAX_CHANGE_RATIO, 25% when unset or empty', () => {
    assert.equal(loadImportConfig({}).maxChangeRatio, 0.25);
    assert.equal(loadImportConfig({ IPOID_MAX_CHANGE_RATIO: '' }).maxChangeRatio, 0.25);
    assert.equal(loadImportConfig({ IPOID_MAX_CHANGE_RATIO: '0.5' }).maxChangeRatio, 0.5);
    for (const text of ['', 'lots', '-0.1', '1.5', '25%']) {
      assert.throws(
        () => parseChangeRatio(text, '--x'),
        new RangeError(
          `--x must be a number from 0 to 1 (0.05 allows deleting or updating 5% of the stored records), not ${JSON.stringify(text)}`,
        ),
      );
    }
  });

  test('is reached, not crossed; deletes and updates count together; inserts and an empty feed do not', () => {
    assert.equal(tooManyChanges({ deleted: 25, updated: 0 }, 100, 0.25), undefined);
    assert.equal(tooManyChanges({ deleted: 5, updated: 20 }, 100, 0.25), undefined);
    assert.equal(tooManyChanges({ deleted: 1000, updated: 0 }, 0, 0), undefined);
    assert.equal(
      tooManyChanges({ deleted: 6, updated: 20 }, 100, 0.25),
      'it would delete 6 and update 20 of the 100 stored records (26%), more than the limit of 25% (IPOID_MAX_CHANGE_RATIO)',
    );
  });
});

forEachStore((target) => {
  let db: TestDatabase;
  let store: Store;
  const options = (more: Partial<ImportOptions> = {}): ImportOptions => ({ feed: 'anonymous', logger: quietLogger, ...more });
  /** Stores the full feed of STORED records again, whatever is stored. */
  const reset = () => importFeed(store, feed('full', STORED), options({ force: true }));
  const ipoid = (...args: string[]) => runCli(args, { IPOID_DB_URL: db.url, IPOID_MAX_CHANGE_RATIO: '' });

  before(async () => {
    db = await target.createDatabase();
    store = await openStore(db.url);
    await reset();
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  /** The import is refused with the counts it would have applied, changes nothing, and is recorded so. */
  async function assertRefused(
    file: string,
    more: Partial<ImportOptions>,
    counts: [inserted: number, updated: number, deleted: number],
  ): Promise<void> {
    const before = await storedSnapshot(store);
    const lastImport = (await store.feedStatus())[0]!.lastImport;
    await assert.rejects(importFeed(store, file, options(more)), (err: unknown) => {
      assert.ok(err instanceof ImportRefusedError);
      assert.match(
        err.message,
        /^import refused, stored data unchanged: it would delete \d+ and update \d+ of the 100 stored records .*; if the file is right, apply it anyway with --force/,
      );
      return true;
    });
    assert.equal(await storedSnapshot(store), before);
    const [run] = await store.importRuns({ limit: 1 });
    assert.deepEqual([run?.status, run?.inserted, run?.updated, run?.deleted, run?.records], ['refused', ...counts, STORED]);
    const [status] = await store.feedStatus();
    assert.deepEqual(status?.lastImport, lastImport, 'a refused run is no import');
    assert.deepEqual(status?.lastRefused, run);
  }

  test('deleting 25% of the stored records passes; 26% is refused', async () => {
    const run = await importFeed(store, feed('minus25', 75), options());
    assert.deepEqual([run.status, run.deleted, run.records], ['succeeded', 25, 75]);
    await reset();
    await assertRefused(feed('minus26', 74), {}, [0, 0, 26]);
  });

  test('updates count with deletions: 20 updated and 6 deleted are refused, 20 and 5 pass; a success clears the refusal', async () => {
    await assertRefused(feed('changed20-minus6', 94, 20), {}, [0, 20, 6]);
    const run = await importFeed(store, feed('changed20-minus5', 95, 20), options());
    assert.deepEqual([run.status, run.updated, run.deleted], ['succeeded', 20, 5]);
    assert.equal((await store.feedStatus())[0]?.lastRefused, null);
    await reset();
  });

  test('a higher limit or force applies it; inserts alone never count', async () => {
    await assertRefused(feed('half', 50), {}, [0, 0, 50]);
    assert.equal((await importFeed(store, feed('half', 50), options({ maxChangeRatio: 0.5 }))).deleted, 50);
    await reset();
    assert.equal((await importFeed(store, feed('tripled', 3 * STORED), options({ maxChangeRatio: 0 }))).inserted, 2 * STORED);
    await assert.rejects(importFeed(store, feed('tenth', 10), options()), ImportRefusedError);
    assert.equal((await importFeed(store, feed('tenth', 10), options({ force: true }))).deleted, 3 * STORED - 10);
    await reset();
  });

  test('ipoid import --dry-run prints the counts an import then applies, and writes nothing', async () => {
    const file = feed('dry', 90, 10);
    const before = await storedSnapshot(store);
    const runs = (await store.importRuns({ limit: 1000 })).length;

    const dry = await ipoid('import', file, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    const [preview] = jsonLines(dry.stdout);
    assert.deepEqual(
      [
        preview?.dryRun,
        preview?.linesRead,
        preview?.skipped,
        preview?.inserted,
        preview?.updated,
        preview?.deleted,
        preview?.recordsBefore,
        preview?.records,
        preview?.refused,
      ],
      [true, 90, 0, 0, 10, 10, STORED, 90, false],
    );
    assert.equal(await storedSnapshot(store), before);
    assert.equal((await store.importRuns({ limit: 1000 })).length, runs, 'a dry run records no run');

    const real = await ipoid('import', file);
    assert.equal(real.code, 0, real.stderr);
    const [applied] = jsonLines(real.stdout);
    assert.deepEqual(
      [applied?.status, applied?.inserted, applied?.updated, applied?.deleted, applied?.records],
      ['succeeded', preview?.inserted, preview?.updated, preview?.deleted, preview?.records],
    );
    await reset();
  });

  test('a dry run that the limit would refuse says so and exits 5, still writing nothing', async () => {
    const before = await storedSnapshot(store);
    const runs = (await store.importRuns({ limit: 1000 })).length;
    const dry = await ipoid('import', feed('dry-half', 50), '--dry-run');
    assert.equal(dry.code, 5, dry.stderr);
    const [preview] = jsonLines(dry.stdout);
    assert.deepEqual([preview?.deleted, preview?.records, preview?.refused], [50, 50, true]);
    assert.match(String(preview?.error), /it would delete 50 and update 0 of the 100 stored records \(50%\)/);
    assert.equal(await storedSnapshot(store), before);
    assert.equal((await store.importRuns({ limit: 1000 })).length, runs);
  });

  test('ipoid import: refused exits 5 with the reason and the way to force it; --max-change-ratio or --force applies it', async () => {
    const file = feed('cli-half', 50);
    const refused = await ipoid('import', file);
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(
      refused.stderr,
      /^ipoid: import refused, stored data unchanged: it would delete 50 and update 0 of the 100 stored records \(50%\), more than the limit of 25% \(IPOID_MAX_CHANGE_RATIO\); if the file is right, apply it anyway with --force/m,
    );
    assert.deepEqual(
      jsonLines(refused.stdout).map((r) => [r.status, r.deleted, r.records]),
      [['refused', 50, STORED]],
    );
    assert.deepEqual(
      jsonLines((await ipoid('imports', '--limit', '1')).stdout).map((r) => r.status),
      ['refused'],
    );

    const byEnv = await runCli(['import', file], { IPOID_DB_URL: db.url, IPOID_MAX_CHANGE_RATIO: '0.5' });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    await reset();
    const byOption = await ipoid('import', file, '--max-change-ratio', '0.5');
    assert.equal(byOption.code, 0, byOption.stderr);
    await reset();
    const forced = await ipoid('import', file, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(jsonLines(forced.stdout)[0]?.deleted, 50);
    await reset();
  });
});

// The option and the variable are read by the command whatever the store: SQLite suffices.
test('a change limit that is no share exits 2 before anything is imported', async () => {
  const db = await STORE_TARGETS[0]!.createDatabase();
  try {
    const file = feed('limits', 3);
    const option = await runCli(['import', file, '--max-change-ratio', '2'], { IPOID_DB_URL: db.url });
    assert.equal(option.code, 2, option.stderr);
    assert.match(
      option.stderr,
      /^ipoid: --max-change-ratio must be a number from 0 to 1 \(0\.05 allows deleting or updating 5% of the stored records\), not "2"$/m,
    );
    for (const command of [['import', file], ['update']]) {
      const env = await runCli(command, { IPOID_DB_URL: db.url, IPOID_MAX_CHANGE_RATIO: 'lots', SPUR_API_TOKEN: 'x' });
      assert.equal(env.code, 2, env.stderr);
      assert.match(env.stderr, /^ipoid: IPOID_MAX_CHANGE_RATIO must be a number from 0 to 1/m);
    }
    assert.deepEqual(jsonLines((await runCli(['imports'], { IPOID_DB_URL: db.url })).stdout), []);
    // An option given on the command line wins: its variable is then not read at all.
    const overridden = await runCli(['import', file, '--max-change-ratio', '0.5', '--max-skipped-ratio', '0.1'], {
      IPOID_DB_URL: db.url,
      IPOID_MAX_CHANGE_RATIO: 'lots',
      IPOID_MAX_SKIPPED_RATIO: 'many',
    });
    assert.equal(overridden.code, 0, overridden.stderr);
  } finally {
    await db.drop();
  }
});
