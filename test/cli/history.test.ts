import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jsonLines, runCli } from '../helpers/cli.ts';
import { jsonLinesFeed } from '../helpers/fixtures.ts';
import { forEachStore, type TestDatabase } from '../helpers/stores.ts';

/** Two days of a three-address feed: one address changes its risks, one goes, one comes. */
const DAY_1 = jsonLinesFeed(
  [
    { ip: '192.0.2.1', organization: 'Kept VPN', risks: ['TUNNEL'] },
    { ip: '192.0.2.2', organization: 'Gone VPN', risks: ['SPAM'] },
  ],
  'day-1.jsonl',
);
const DAY_2 = jsonLinesFeed(
  [
    { ip: '192.0.2.1', organization: 'Kept VPN', risks: ['TUNNEL', 'SPAM'] },
    { ip: '192.0.2.3', organization: 'New VPN', risks: [] },
  ],
  'day-2.jsonl',
);

forEachStore((target) => {
  let db: TestDatabase;
  const ipoid = (...args: string[]) => runCli(args, { IPOID_DB_URL: db.url });
  before(async () => {
    db = await target.createDatabase();
    for (const [file, date] of [
      [DAY_1, '2026-11-01'],
      [DAY_2, '2026-11-02'],
    ] as const) {
      const result = await ipoid('import', file, '--feed-date', date, '--force');
      assert.equal(result.code, 0, result.stderr);
    }
  });
  after(async () => db.drop());

  test('lookup --at answers the record of that day, with the feed date it comes from', async () => {
    const [line] = jsonLines((await ipoid('lookup', '192.0.2.1', '--at', '2026-11-01')).stdout);
    assert.deepEqual((line?.context as { risks: unknown }).risks, ['TUNNEL']);
    assert.equal(line?.feed_date, '2026-11-01');
    const gone = await ipoid('lookup', '192.0.2.2', '--at', '2026-11-02');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not found on 2026-11-02/);
    const outside = await ipoid('lookup', '192.0.2.1', '--at', '2026-10-31');
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /kept from 2026-11-01 to 2026-11-02/);
  });

  test('history prints each record with its first and last feed day', async () => {
    const [line] = jsonLines((await ipoid('history', '192.0.2.1')).stdout);
    const versions = line?.versions as { first: string; last: string; context: { risks: string[] } }[];
    assert.deepEqual(
      versions.map((v) => [v.first, v.last, v.context.risks]),
      [
        ['2026-11-01', '2026-11-01', ['TUNNEL']],
        ['2026-11-02', '2026-11-02', ['TUNNEL', 'SPAM']],
      ],
    );
  });

  test('changes --since prints what was added, removed and changed, with label filters', async () => {
    const all = jsonLines((await ipoid('changes', '--since', '2026-11-01')).stdout);
    assert.deepEqual(
      all.map((c) => [c.ip, c.change]),
      [
        ['192.0.2.1', 'changed'],
        ['192.0.2.2', 'removed'],
        ['192.0.2.3', 'added'],
      ],
    );
    const spam = jsonLines((await ipoid('changes', '--since', '2026-11-01', '--risk', 'SPAM')).stdout);
    assert.deepEqual(
      spam.map((c) => c.ip),
      ['192.0.2.1', '192.0.2.2'],
    );
  });
});
