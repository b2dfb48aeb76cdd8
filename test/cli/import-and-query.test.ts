import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jsonLines, runCli } from '../helpers/cli.ts';
import { BAD_LINES, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { forEachStore, type TestDatabase } from '../helpers/stores.ts';

forEachStore((target) => {
  let db: TestDatabase;
  const ipoid = (...args: string[]) => runCli(args, { IPOID_DB_URL: db.url });
  before(async () => {
    db = await target.createDatabase();
  });
  after(async () => db.drop());

  test('import prints the run summary as JSON', async () => {
    const result = await ipoid('import', SAMPLE_FEED, '--feed-date', '2026-11-24');
    assert.equal(result.code, 0, result.stderr);
    const [summary] = jsonLines(result.stdout);
    assert.equal(summary?.status, 'succeeded');
    assert.equal(summary?.feedDate, '2026-11-24');
    assert.deepEqual([summary?.linesRead, summary?.inserted, summary?.updated, summary?.deleted], [10, 10, 0, 0]);
  });

  test('lookup prints one JSON line per feed, for any spelling, and the containing network', async () => {
    const result = await ipoid('lookup', '001.001.001.001');
    assert.equal(result.code, 0, result.stderr);
    const [line] = jsonLines(result.stdout);
    assert.equal(line?.ip, '1.1.1.1');
    assert.equal(line?.feed, 'anonymous');
    assert.deepEqual((line?.context as { client: unknown }).client, { count: 10, types: ['UNKNOWN'], proxies: ['3_PROXY', '1_PROXY'] });
    const network = await ipoid('lookup', '2001:DB8:AAAA:1::42');
    assert.equal(jsonLines(network.stdout)[0]?.ip, '2001:db8:aaaa:1::/64');
  });

  test('lookup: unknown is exit 1, invalid is exit 2, each with a message', async () => {
    const unknown = await ipoid('lookup', '8.8.8.8');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr, /8\.8\.8\.8: not found/);
    const invalid = await ipoid('lookup', 'not-an-ip');
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /not an IPv4 or IPv6 address: "not-an-ip"/);
    assert.doesNotMatch(invalid.stderr, /at .*\.ts:\d+/, 'no stack trace');
  });

  test('list filters by labels and prefix, in address order, with a limit', async () => {
    const result = await ipoid('list', '--operator', 'NORD_VPN', '--risk', 'TUNNEL', '--prefix', '203.0.113.0/24');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      jsonLines(result.stdout).map((l) => l.ip),
      ['203.0.113.7', '203.0.113.8'],
    );
    const limited = await ipoid('list', '--risk', 'TUNNEL', '--limit', '2');
    assert.deepEqual(
      jsonLines(limited.stdout).map((l) => l.ip),
      ['192.0.2.200', '203.0.113.7'],
    );
    const all = await ipoid('list');
    assert.equal(jsonLines(all.stdout).length, 10);
    const bad = await ipoid('list', '--prefix', '203.0.113.0/99');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid prefix length/);
  });

  test('bad lines are reported in the summary and the run list', async () => {
    // The bad-lines file replaces the sample feed on purpose: --force gets it past the change limit.
    const result = await ipoid('import', BAD_LINES, '--max-skipped-ratio', '0.8', '--force');
    assert.equal(result.code, 0, result.stderr);
    const [summary] = jsonLines(result.stdout);
    assert.equal(summary?.skipped, 8);
    assert.equal((summary?.skippedSample as unknown[]).length, 8);
    assert.match(result.stderr, /skipped feed line/);
    const runs = jsonLines((await ipoid('imports')).stdout);
    assert.deepEqual(
      runs.map((r) => [r.status, r.inserted, r.deleted, r.skipped]),
      [
        ['succeeded', 2, 10, 8],
        ['succeeded', 10, 0, 0],
      ],
    );
  });

  test('a missing file fails with exit 1 and a clear message', async () => {
    const result = await ipoid('import', '/nonexistent/feed.json.gz');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no such file/);
  });
});
