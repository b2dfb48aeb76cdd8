import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { runGenerate } from '../../src/generator/index.ts';
import { importFeed } from '../../src/import/importer.ts';
import { listAll } from '../../src/store/list-all.ts';
import type { LabelCount, Store } from '../../src/store/types.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { forEachStore, freshStore } from '../helpers/stores.ts';

/** Every label's count and its records' keys, in list order. */
async function labelRows(store: Store): Promise<[LabelCount, string[]][]> {
  const rows: [LabelCount, string[]][] = [];
  for (const count of await store.labelCounts()) {
    const keys: string[] = [];
    for await (const record of listAll(store, { labels: [{ kind: count.kind, value: count.value }] })) keys.push(record.key);
    rows.push([count, keys]);
  }
  return rows;
}

forEachStore((target) => {
  const dir = tempDir();
  const day1 = join(dir, 'day1.jsonl');
  const day2 = join(dir, 'day2.jsonl');
  before(async () => {
    await runGenerate({ count: 6000, seed: 71, out: day1 });
    // Nine in ten records change: tens of thousands of label rows go and come.
    await runGenerate({ from: day1, churn: 0.9, seed: 72, out: day2 });
  });

  test("a diff whose label rows go and come by the ten thousand leaves every label's rows as a first load of the same day", async () => {
    const diffed = await freshStore(target);
    const loaded = await freshStore(target);
    try {
      const options = { feed: 'anonymous' as const, logger: quietLogger };
      await importFeed(diffed.store, day1, options);
      const run = await importFeed(diffed.store, day2, { ...options, maxChangeRatio: 1 });
      assert.ok(run.inserted > 1000 && run.deleted > 1000, `inserted ${run.inserted}, deleted ${run.deleted}`);
      await importFeed(loaded.store, day2, options);
      const expected = await labelRows(loaded.store);
      assert.ok(expected.reduce((rows, [count]) => rows + count.count, 0) > 20_000);
      assert.deepEqual(await labelRows(diffed.store), expected);
    } finally {
      await diffed.close();
      await loaded.close();
    }
  });
});
