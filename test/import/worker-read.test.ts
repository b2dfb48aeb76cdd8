import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { importFeed, ImportFailedError, type ImportOptions } from '../../src/import/importer.ts';
import { BAD_LINES, quietLogger, SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';
import { storedRecords } from '../helpers/snapshot.ts';
import { forEachStore, freshStore } from '../helpers/stores.ts';

/*
 * A large feed file is read on a worker thread (readInWorker's default): a first load's lines
 * parsed there, a diff's split and hashed there. Imported either way, a feed must leave the
 * same records and the same run: its counts, its skipped lines and why, its repeated keys.
 */

const dir = tempDir();

/** The fixtures' lines (bad ones, a repeated key) among 4,500 generated records, over several batches, gzipped. */
function mixedFeed(): string {
  const lines = Array.from({ length: 4500 }, (_, i) =>
    JSON.stringify({ ip: `10.7.${i >> 8}.${i & 255}`, risks: [`RISK_${i % 13}`], location: { city: 'Oslo', country: 'NO' } }),
  );
  const fixtures = `${readFileSync(SAMPLE_FEED, 'utf8')}\n${readFileSync(BAD_LINES, 'utf8')}`.split('\n');
  fixtures.forEach((line, i) => lines.splice(i * 400, 0, line));
  lines.splice(4200, 0, JSON.stringify({ ip: '10.7.0.9', risks: ['LATER'] })); // repeats line of 10.7.0.9
  const path = join(dir, 'mixed.json.gz');
  writeFileSync(path, gzipSync(`${lines.join('\n')}\n`));
  return path;
}

forEachStore((target) => {
  /** Imports `feed` into a fresh store (after `before`, read in one thread, when given): the outcome and the records left. */
  const load = async (feed: string, readInWorker: boolean, before?: string) => {
    const fresh = await freshStore(target);
    try {
      if (before)
        await importFeed(fresh.store, before, { feed: 'anonymous', feedDate: '2026-11-19', logger: quietLogger, readInWorker: false });
      const options: ImportOptions = {
        feed: 'anonymous',
        feedDate: '2026-11-20',
        logger: quietLogger,
        maxSkippedRatio: 1,
        force: true,
        readInWorker,
      };
      const outcome = await importFeed(fresh.store, feed, options).then(
        (run) => ({ run: { ...run, startedAt: null, finishedAt: null } }),
        (err: unknown) => ({ failed: err instanceof ImportFailedError ? { ...err.run, startedAt: null, finishedAt: null } : String(err) }),
      );
      // (Each record's last update is its load's start, a second apart or more.)
      const records = (await storedRecords(fresh.store)).map((record) => ({ ...record, lastUpdated: null }));
      return { outcome, records };
    } finally {
      await fresh.close();
    }
  };

  test('a feed loaded with its lines parsed on a worker is the feed loaded in one thread', async () => {
    const feed = mixedFeed();
    const inThread = await load(feed, false);
    const inWorker = await load(feed, true);
    assert.ok('run' in inThread.outcome, JSON.stringify(inThread.outcome));
    assert.ok(inThread.outcome.run.skipped >= 8 && inThread.records.length > 4500);
    assert.ok(inThread.outcome.run.skippedSample.some((s) => /^duplicate of line \d+ \(10\.7\.0\.9\)$/.test(s.reason)));
    assert.deepEqual(inWorker, inThread);
  });

  test('a cut feed fails on the worker as in one thread, and loads nothing', async () => {
    const whole = readFileSync(mixedFeed());
    const cut = join(dir, 'cut.json.gz');
    writeFileSync(cut, whole.subarray(0, whole.length - 100));
    const inWorker = await load(cut, true);
    assert.deepEqual(inWorker, await load(cut, false));
    assert.ok('failed' in inWorker.outcome && typeof inWorker.outcome.failed === 'object');
    // The run counts what was read before the cut: the skipped lines after the last whole batch too.
    const { failed } = inWorker.outcome;
    assert.match(failed.error ?? '', /cannot read feed: unexpected end of file/);
    assert.ok(failed.skippedSample.some((s) => s.line > 4000));
    assert.deepEqual(inWorker.records, []);
  });

  test('a diff read on a worker is the diff read in one thread, whole or cut', async () => {
    // The day before: every third of the generated records as the mixed feed has it, one in five changed, and some gone.
    const before = join(dir, 'before.json.gz');
    const yesterday = Array.from({ length: 5000 }, (_, i) =>
      i % 5 === 0
        ? JSON.stringify({ ip: `10.7.${i >> 8}.${i & 255}`, risks: ['YESTERDAY'] })
        : JSON.stringify({ ip: `10.7.${i >> 8}.${i & 255}`, risks: [`RISK_${i % 13}`], location: { city: 'Oslo', country: 'NO' } }),
    ).filter((_, i) => i % 3 === 0 || i >= 4500);
    writeFileSync(before, gzipSync(`${yesterday.join('\n')}\n`));
    const feed = mixedFeed();
    const inThread = await load(feed, false, before);
    assert.ok('run' in inThread.outcome, JSON.stringify(inThread.outcome));
    const { run } = inThread.outcome;
    assert.ok(run.inserted > 2000 && run.updated > 200 && run.deleted >= 500 && run.skipped >= 8, JSON.stringify(run));
    assert.deepEqual(await load(feed, true, before), inThread);

    const whole = readFileSync(feed);
    const cut = join(dir, 'cut-diff.json.gz');
    writeFileSync(cut, whole.subarray(0, whole.length - 100));
    const cutInWorker = await load(cut, true, before);
    assert.deepEqual(cutInWorker, await load(cut, false, before));
    assert.ok('failed' in cutInWorker.outcome && typeof cutInWorker.outcome.failed === 'object');
    assert.match(cutInWorker.outcome.failed.error ?? '', /cannot read feed: unexpected end of file/);
    assert.ok(cutInWorker.outcome.failed.linesRead > 4000);
    assert.equal(cutInWorker.records.length, yesterday.length);
  });
});
