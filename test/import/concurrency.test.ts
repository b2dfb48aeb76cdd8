import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { importFeed } from '../../src/import/importer.ts';
import type { Store } from '../../src/store/types.ts';
import { finished, jsonLines, runCli, spawnCli, waitForOutput } from '../helpers/cli.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { forEachStore, freshStore } from '../helpers/stores.ts';
import { feedKeys } from '../helpers/read-feed.ts';
import { storedSnapshot } from '../helpers/snapshot.ts';

interface GenerateSummary {
  records: number;
  removed: number;
  changed: number;
  added: number;
}

async function generate(args: string[]): Promise<GenerateSummary> {
  const result = await runCli(['generate', ...args]);
  assert.equal(result.code, 0, result.stderr);
  return jsonLines(result.stdout)[0] as unknown as GenerateSummary;
}

const dir = tempDir();
const base = join(dir, 'day1.json.gz');
const next = join(dir, 'day2.json.gz');
const other = join(dir, 'other.json.gz');
let churn: GenerateSummary;

before(async () => {
  await generate(['--count', '20000', '--seed', '11', '--out', base]);
  churn = await generate(['--from', base, '--churn', '0.1', '--seed', '12', '--out', next]);
  await generate(['--count', '60000', '--seed', '13', '--out', other]);
});

forEachStore((target) => {
  let store: Store;
  let url: string;
  let close: () => Promise<void>;
  before(async () => {
    ({ store, url, close } = await freshStore(target));
    await importFeed(store, base, { feed: 'anonymous', logger: quietLogger });
  });
  after(async () => close());

  test('a churned feed applies exactly the changes the generator made, and readers only ever see whole snapshots', async () => {
    const old = await storedSnapshot(store);
    const child = spawnCli(['import', next], { IPOID_DB_URL: url });
    const done = finished(child);
    const seen: string[] = [];
    let exited = false;
    void done.then(() => (exited = true));
    while (!exited) {
      seen.push(await storedSnapshot(store));
      await new Promise((r) => setTimeout(r, 20));
    }
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    const run = jsonLines(result.stdout)[0]!;
    assert.deepEqual([run.inserted, run.updated, run.deleted, run.skipped], [churn.added, churn.changed, churn.removed, 0]);
    assert.ok(churn.added > 0 && churn.changed > 0 && churn.removed > 0);
    const updated = await storedSnapshot(store);
    assert.notEqual(updated, old);
    assert.ok(seen.length > 0);
    for (const observed of seen) assert.ok(observed === old || observed === updated, 'a reader saw a half-applied import');
    assert.ok(Number(updated.split(':')[0]) === churn.records);
  });

  test('a killed import leaves the old data, a concurrent one refuses, and the next run succeeds', async () => {
    const old = await storedSnapshot(store);
    // `other` replaces the stored feed on purpose: --force gets it past the change limit.
    const child = spawnCli(['import', other, '--force'], { IPOID_DB_URL: url, IPOID_LOG_LEVEL: 'debug' });
    const done = finished(child);
    await waitForOutput(child, 'import batch applied');
    // Held with its first batches written and 29 to go, nothing committed: readers see the old data.
    child.kill('SIGSTOP');
    assert.equal(await storedSnapshot(store), old, 'a reader saw part of an import');

    const concurrent = await runCli(['import', other, '--force'], { IPOID_DB_URL: url });
    assert.equal(concurrent.code, 3, concurrent.stderr);
    assert.match(concurrent.stderr, /another import is running/);

    child.kill('SIGKILL');
    assert.equal((await done).signal, 'SIGKILL');
    assert.equal(await storedSnapshot(store), old);

    const rerun = await runCli(['import', other, '--force'], { IPOID_DB_URL: url });
    assert.equal(rerun.code, 0, rerun.stderr);
    const run = jsonLines(rerun.stdout)[0]!;
    // Keys of the new feed that were stored already are not inserted; every other stored key goes.
    const [stored, incoming] = [await feedKeys(next), await feedKeys(other)];
    assert.equal(run.inserted, [...incoming].filter((key) => !stored.has(key)).length);
    assert.equal(run.deleted, [...stored].filter((key) => !incoming.has(key)).length);
    assert.equal(Number((await storedSnapshot(store)).split(':')[0]), 60000);
  });
});
