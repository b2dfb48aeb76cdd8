import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadImportConfig } from '../../src/config.ts';
import { importFeed, ImportFailedError, type ImportOptions } from '../../src/import/importer.ts';
import { parseSkippedRatio, tooManySkipped } from '../../src/import/limits.ts';
import type { Store } from '../../src/store/types.ts';
import { jsonLines, runCli } from '../helpers/cli.ts';
import { BAD_LINES, quietLogger, SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';
import { forEachStore, freshStore, STORE_TARGETS, type TestDatabase } from '../helpers/stores.ts';
import { storedRecords } from '../helpers/snapshot.ts';

const dir = tempDir();

/** A feed of `valid` distinct records with `bad` garbage lines spread among them, then `blank` blank lines. */
function feedWith(valid: number, bad: number, blank = 0): string {
  const lines = Array.from({ length: valid }, (_, i) => `{"ip":"10.9.${i >> 8}.${i & 255}","risks":["TUNNEL"]}`);
  for (let i = 0; i < bad; i++) lines.splice(Math.floor((i * lines.length) / bad), 0, `not json ${i}`);
  const path = join(dir, `feed-${valid}-${bad}-${blank}.jsonl`);
  writeFileSync(path, `${lines.join('\n')}\n${'\n'.repeat(blank)}`);
  return path;
}

describe('the share of skipped lines an import allows', () => {
  test('is a number from 0 to 1; anything else is refused, naming the setting', () => {
    for (const [text, ratio] of [
      ['0', 0],
      ['0.05', 0.05],
      ['1e-3', 0.001],
      [' 1 ', 1],
    ] as const)
      assert.equal(parseSkippedRatio(text, '--x'), ratio);
    for (const text of ['', ' ', 'lots', '-0.1', '1.5', '5%', 'NaN', 'Infinity']) {
      assert.throws(
        () => parseSkippedRatio(text, '--x'),
        new RangeError(`--x must be a number from 0 to 1 (0.05 allows 5% of the lines), not ${JSON.stringify(text)}`),
      );
    }
  });

  test('comes from IPOID_MAX_SKIPPED_RATIO, 1% when unset or empty', () => {
    assert.equal(loadImportConfig({}).maxSkippedRatio, 0.01);
    assert.equal(loadImportConfig({ IPOID_MAX_SKIPPED_RATIO: '' }).maxSkippedRatio, 0.01);
    assert.equal(loadImportConfig({ IPOID_MAX_SKIPPED_RATIO: '0.25' }).maxSkippedRatio, 0.25);
    assert.throws(
      () => loadImportConfig({ IPOID_MAX_SKIPPED_RATIO: '25%' }),
      /^RangeError: IPOID_MAX_SKIPPED_RATIO must be a number from 0 to 1/,
    );
  });

  test('is a bound that is reached, not crossed: exactly at the limit the import goes on', () => {
    assert.equal(tooManySkipped(1, 100, 0.01), undefined);
    assert.equal(tooManySkipped(29, 100, 0.29), undefined);
    assert.equal(tooManySkipped(0, 5, 0), undefined);
    assert.equal(tooManySkipped(99, 100, 1), undefined);
    assert.equal(tooManySkipped(2, 100, 0.01), '2 of 100 lines skipped (2%), more than the limit of 1% skipped lines');
    assert.equal(tooManySkipped(1, 3, 0), '1 of 3 lines skipped (33.3%), more than the limit of 0% skipped lines');
  });
});

forEachStore((target) => {
  let store: Store;
  let close: () => Promise<void>;
  // Each feed here replaces the stored one on purpose: no change limit (it has its own tests).
  const options = (more: Partial<ImportOptions> = {}): ImportOptions => ({
    feed: 'anonymous',
    logger: quietLogger,
    maxChangeRatio: 1,
    ...more,
  });
  before(async () => {
    ({ store, close } = await freshStore(target));
    await importFeed(store, SAMPLE_FEED, options());
  });
  after(async () => close());

  /** The import fails with `error`, keeps every stored record as it was, and is recorded as failed. */
  async function assertRefused(file: string, more: Partial<ImportOptions>, error: string): Promise<void> {
    const before = await storedRecords(store);
    await assert.rejects(importFeed(store, file, options(more)), (err: unknown) => {
      assert.ok(err instanceof ImportFailedError);
      assert.equal(err.message, `import failed, stored data unchanged: ${error}`);
      return true;
    });
    assert.deepStrictEqual(await storedRecords(store), before);
    const [run] = await store.importRuns({ limit: 1 });
    assert.deepEqual(
      [run?.status, run?.error, run?.inserted, run?.updated, run?.deleted, run?.records],
      ['failed', error, 0, 0, 0, before.length],
    );
  }

  test('a feed with 40% bad lines is refused instead of deleting what it lacks, and the run says why', async () => {
    await assertRefused(feedWith(6, 4), {}, '4 of 10 lines skipped (40%), more than the limit of 1% skipped lines');
    const [run] = await store.importRuns({ limit: 1 });
    assert.deepEqual([run?.linesRead, run?.skipped, run?.skippedSample.length], [10, 4, 4]);
  });

  test('1 bad line in 100 passes the default limit of 1%; 2 do not', async () => {
    const run = await importFeed(store, feedWith(99, 1), options());
    assert.deepEqual([run.status, run.skipped, run.records], ['succeeded', 1, 99]);
    await assertRefused(feedWith(98, 2), {}, '2 of 100 lines skipped (2%), more than the limit of 1% skipped lines');
  });

  test('duplicate lines count as skipped, blank lines not at all', async () => {
    const file = join(dir, 'duplicates.jsonl');
    writeFileSync(file, `${'{"ip":"10.8.0.1"}\n'.repeat(2)}{"ip":"10.8.0.2"}\n${'\n'.repeat(300)}`);
    await assertRefused(file, { maxSkippedRatio: 0.3 }, '1 of 3 lines skipped (33.3%), more than the limit of 30% skipped lines');
    const run = await importFeed(store, file, options({ maxSkippedRatio: 0.34 }));
    assert.deepEqual([run.status, run.skipped, run.records], ['succeeded', 1, 2]);
  });

  test('0 refuses any skipped line; 1 takes any feed holding a valid record, and only such a feed', async () => {
    await assertRefused(feedWith(50, 1), { maxSkippedRatio: 0 }, '1 of 51 lines skipped (1.96%), more than the limit of 0% skipped lines');
    await assertRefused(
      feedWith(0, 5),
      { maxSkippedRatio: 1 },
      'the feed holds no valid record (skipped lines: 5); refusing to delete the stored data',
    );
    const run = await importFeed(store, BAD_LINES, options({ maxSkippedRatio: 1 }));
    assert.deepEqual([run.status, run.skipped, run.records], ['succeeded', 8, 2]);
  });

  test('a limit outside 0..1 is refused before the import starts: nothing is recorded', async () => {
    const runs = (await store.importRuns({ limit: 100 })).length;
    for (const maxSkippedRatio of [-0.1, 1.5, Number.NaN]) {
      await assert.rejects(
        importFeed(store, SAMPLE_FEED, options({ maxSkippedRatio })),
        new RangeError(`maxSkippedRatio must be a number from 0 to 1, not ${maxSkippedRatio}`),
      );
    }
    assert.equal((await store.importRuns({ limit: 100 })).length, runs);
  });
});

// The option and the variable are read by the command whatever the store: SQLite suffices.
describe('ipoid import --max-skipped-ratio', () => {
  let db: TestDatabase;
  const ipoid = (args: string[], env: Record<string, string> = {}) =>
    runCli(['import', BAD_LINES, ...args], { IPOID_DB_URL: db.url, ...env });
  before(async () => {
    db = await STORE_TARGETS[0]!.createDatabase();
  });
  after(async () => db.drop());

  test('a mostly broken feed exits 1 with the counts and the limit; the option or IPOID_MAX_SKIPPED_RATIO raises it, the option first', async () => {
    const refused = await ipoid([]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /^ipoid: import failed, stored data unchanged: 8 of 10 lines skipped \(80%\), more than the limit of 1% skipped lines$/m,
    );
    const allowed = await ipoid(['--max-skipped-ratio', '0.8']);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.deepEqual([jsonLines(allowed.stdout)[0]?.status, jsonLines(allowed.stdout)[0]?.skipped], ['succeeded', 8]);
    const byEnv = await ipoid([], { IPOID_MAX_SKIPPED_RATIO: '0.8' });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    const optionFirst = await ipoid(['--max-skipped-ratio', '0.5'], { IPOID_MAX_SKIPPED_RATIO: '0.8' });
    assert.equal(optionFirst.code, 1, optionFirst.stderr);
    assert.match(optionFirst.stderr, /more than the limit of 50% skipped lines$/m);
  });

  test('a limit that is no share of lines exits 2 before anything is imported', async () => {
    const runs = jsonLines((await runCli(['imports'], { IPOID_DB_URL: db.url })).stdout).length;
    const option = await ipoid(['--max-skipped-ratio', '2']);
    assert.equal(option.code, 2, option.stderr);
    assert.match(option.stderr, /^ipoid: --max-skipped-ratio must be a number from 0 to 1 \(0\.05 allows 5% of the lines\), not "2"$/m);
    const env = await ipoid([], { IPOID_MAX_SKIPPED_RATIO: 'lots' });
    assert.equal(env.code, 2, env.stderr);
    assert.match(env.stderr, /^ipoid: IPOID_MAX_SKIPPED_RATIO must be a number from 0 to 1/m);
    assert.equal(jsonLines((await runCli(['imports'], { IPOID_DB_URL: db.url })).stdout).length, runs);
  });
});
