import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseIp, type CanonicalIp } from '../../src/feed/ip.ts';
import { runGenerate } from '../../src/generator/index.ts';
import { importFeed } from '../../src/import/importer.ts';
import { openStore } from '../../src/store/open.ts';
import type { ImportRunSummary, Store, StoredRecord } from '../../src/store/types.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { PRIVATE_MARIADB_SKIP } from '../helpers/private-mariadb.ts';
import { readAll } from '../helpers/read-feed.ts';
import { replicaLag, ReplicaPair } from '../helpers/replica-pair.ts';

const DATABASE = 'ipoid';
// Addresses looked up per category of change between the two days.
const PER_CATEGORY = 10;
// The replica applies a 3,000-record import in well under a second; this is for a loaded machine.
const DAY_2_DEADLINE_MS = 60_000;

/** A lookupMany answer as one string: two are equal only if every record and its last update are. */
const answerText = (answers: StoredRecord[][]): string =>
  JSON.stringify(answers.map((records) => records.map((r) => `${r.feed} ${r.key} ${r.lastUpdated} ${r.json}`)));

/** The feed's single addresses (networks aside) with their records' JSON. */
async function addressesOf(path: string): Promise<Map<string, string>> {
  const records = new Map<string, string>();
  for (const parsed of await readAll(path)) {
    if (!parsed.ok) throw new Error(`generated feed line ${parsed.skip.line} skipped: ${parsed.skip.reason}`);
    if (parsed.record.address.prefixLen === 128) records.set(parsed.record.address.text, parsed.record.json);
  }
  return records;
}

/** Addresses added, changed, deleted and unchanged from day 1 to day 2, PER_CATEGORY of each, and one never stored. */
async function probeAddresses(day1Path: string, day2Path: string): Promise<CanonicalIp[]> {
  const [day1, day2] = await Promise.all([addressesOf(day1Path), addressesOf(day2Path)]);
  const added = [...day2.keys()].filter((ip) => !day1.has(ip));
  const deleted = [...day1.keys()].filter((ip) => !day2.has(ip));
  const kept = [...day1.keys()].filter((ip) => day2.has(ip));
  const changed = kept.filter((ip) => day1.get(ip) !== day2.get(ip));
  const unchanged = kept.filter((ip) => day1.get(ip) === day2.get(ip));
  const picked = [added, changed, deleted, unchanged].map((ips) => ips.slice(0, PER_CATEGORY));
  for (const ips of picked) assert.equal(ips.length, PER_CATEGORY, 'the churned feed has enough of each kind of change');
  return [...picked.flat(), '192.0.2.1'].map(parseIp);
}

/** Of the addresses the two days answer differently, which answered as day 1, as day 2, as neither: what a mixed answer mixed. */
function mixReport(addresses: CanonicalIp[], answer: string, day1: string, day2: string): string {
  const [got, one, two] = [answer, day1, day2].map((text) => (JSON.parse(text) as string[][]).map((records) => JSON.stringify(records)));
  const days = new Map<string, string[]>();
  addresses.forEach((address, i) => {
    if (one![i] === two![i]) return;
    const day = got![i] === one![i] ? 'day 1' : got![i] === two![i] ? 'day 2' : 'neither';
    days.set(day, [...(days.get(day) ?? []), address.text]);
  });
  return [...days].map(([day, ips]) => `${day} for ${ips.join(', ')}`).join('; ');
}

describe('MariaDB primary and replica', { skip: PRIVATE_MARIADB_SKIP }, () => {
  let dir: string;
  let pair: ReplicaPair | undefined;
  let primaryStore: Store | undefined;
  let replicaStore: Store | undefined;
  let addresses: CanonicalIp[];
  let day1Answer: string;

  before(async () => {
    dir = tempDir();
    await runGenerate({ count: 3_000, seed: 51, out: join(dir, 'day1.jsonl') });
    await runGenerate({ from: join(dir, 'day1.jsonl'), churn: 0.1, seed: 52, out: join(dir, 'day2.jsonl') });
    addresses = await probeAddresses(join(dir, 'day1.jsonl'), join(dir, 'day2.jsonl'));
    pair = await ReplicaPair.create();
    primaryStore = await openStore(pair.primary.url(DATABASE));
    await importFeed(primaryStore, join(dir, 'day1.jsonl'), { feed: 'anonymous', logger: quietLogger });
    day1Answer = answerText(await primaryStore.lookupMany(addresses));
    await pair.caughtUp();
    // As the API opens it: no migrations, no imports, the schema checked.
    replicaStore = await openStore(pair.replica.url(DATABASE), { readOnly: true });
  });

  after(async () => {
    await replicaStore?.close();
    await primaryStore?.close();
    await pair?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the replica serves day 1 as the primary does', async () => {
    assert.equal(answerText(await replicaStore!.lookupMany(addresses)), day1Answer);
  });

  test('while day 2 replicates, a reader of the replica sees all of day 1 or all of day 2, never a mix; then day 2 and its run', async (t) => {
    const [primary, replica] = await Promise.all([pair!.primary.connect(DATABASE), pair!.replica.connect(DATABASE)]);
    const seen = new Map<string, number>();
    let stop = false;
    let readerEnded = false;
    let firstRead!: () => void;
    const readerStarted = new Promise<void>((resolve) => (firstRead = resolve));
    const reader = (async () => {
      while (!stop) {
        const answer = answerText(await replicaStore!.lookupMany(addresses));
        seen.set(answer, (seen.get(answer) ?? 0) + 1);
        firstRead();
      }
    })().finally(() => (readerEnded = true));

    let run: ImportRunSummary;
    let lag: number;
    let day2Answer: string;
    try {
      await Promise.race([readerStarted, reader]);
      run = await importFeed(primaryStore!, join(dir, 'day2.jsonl'), { feed: 'anonymous', logger: quietLogger });
      const committedAt = performance.now();
      day2Answer = answerText(await primaryStore!.lookupMany(addresses));
      assert.notEqual(day2Answer, day1Answer, 'day 2 answers differently');
      lag = await replicaLag(primary, replica, committedAt);
      // The reader goes on until it has seen day 2 itself.
      const deadline = performance.now() + DAY_2_DEADLINE_MS;
      while (!seen.has(day2Answer) && !readerEnded && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } finally {
      stop = true;
      await Promise.all([reader, primary.end(), replica.end()]);
    }

    for (const answer of seen.keys()) {
      if (answer !== day1Answer && answer !== day2Answer)
        assert.fail(`a reader of the replica saw a mix of the two days: ${mixReport(addresses, answer, day1Answer, day2Answer)}`);
    }
    assert.ok(seen.has(day1Answer), 'the reader saw day 1 before the import');
    assert.ok(seen.has(day2Answer), `the replica did not serve day 2 within ${DAY_2_DEADLINE_MS} ms`);
    assert.equal(answerText(await replicaStore!.lookupMany(addresses)), day2Answer, 'the replica serves day 2 exactly');

    const [primaryRun] = await primaryStore!.importRuns({ limit: 1 });
    const [replicaRun] = await replicaStore!.importRuns({ limit: 1 });
    assert.deepEqual(replicaRun, primaryRun);
    assert.equal(replicaRun!.status, 'succeeded');
    assert.deepEqual(
      [replicaRun!.inserted, replicaRun!.updated, replicaRun!.deleted, replicaRun!.records],
      [run.inserted, run.updated, run.deleted, run.records],
    );
    t.diagnostic(
      `replica lag ${lag.toFixed(0)} ms; reader saw day 1 ${seen.get(day1Answer) ?? 0} times, day 2 ${seen.get(day2Answer)} times`,
    );
  });
});
