import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LABEL_MAX_LENGTH } from '../../src/feed/schema.ts';
import { importFeed } from '../../src/import/importer.ts';
import { listQuery } from '../../src/store/mariadb/mariadb-list-query.ts';
import { jsonLines, runCli } from '../helpers/cli.ts';
import { jsonLinesFeed, quietLogger } from '../helpers/fixtures.ts';
import { forEachStore, serverConnection } from '../helpers/stores.ts';
import { request, startApi, type TestApi } from '../helpers/http.ts';

// Multi-byte characters too: 1,024 characters is 4,096 bytes in utf8mb4.
const OPERATOR = `${'OPERATOR_'.repeat(110)}😀${'Ö'.repeat(LABEL_MAX_LENGTH - 991)}`;
const COUNTRY = 'C'.repeat(LABEL_MAX_LENGTH);
const TOO_LONG = 'X'.repeat(LABEL_MAX_LENGTH + 1);

const FEED = [
  {
    ip: '192.0.2.60',
    infrastructure: 'I'.repeat(LABEL_MAX_LENGTH),
    location: { country: COUNTRY },
    tunnels: [{ operator: OPERATOR, type: 'VPN' }],
  },
  { ip: '192.0.2.61', tunnels: [{ operator: TOO_LONG }] },
  // Labels that agree in their first 735 characters stay apart (MariaDB's unique key holds 736).
  { ip: '192.0.2.62', tunnels: [{ operator: `${OPERATOR.slice(0, 735)}Z` }] },
  ...Array.from({ length: 200 }, (_, i) => ({ ip: `198.51.100.${i}`, risks: ['TUNNEL'] })),
];

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    const feed = jsonLinesFeed(FEED, 'long-labels.jsonl');
    api = await startApi(target, { feed });
  });
  after(async () => api.close());

  test(`labels of ${LABEL_MAX_LENGTH} characters import; one longer skips its line with the reason`, async () => {
    assert.equal([...OPERATOR].length, LABEL_MAX_LENGTH);
    const [run] = await api.store.importRuns({ limit: 1 });
    assert.equal(run?.status, 'succeeded');
    assert.equal(run?.inserted, FEED.length - 1);
    assert.deepEqual(run?.skippedSample, [
      { line: 2, reason: `invalid field tunnels.0.operator: must NOT have more than ${LABEL_MAX_LENGTH} characters` },
    ]);
  });

  test('the record is found by lookup and by list filters on each long label', async () => {
    const record = (await request(`${api.base}/feed/v1/ip/192.0.2.60`)).json['192.0.2.60'];
    assert.deepEqual([record.tunnels, record.location_country], [[OPERATOR], COUNTRY]);
    const keys = async (query: string) => (await request(`${api.base}/feed/v1/ips?${query}`)).json.ips.map((i: { ip: string }) => i.ip);
    assert.deepEqual(await keys(`operator=${encodeURIComponent(OPERATOR)}`), ['192.0.2.60']);
    assert.deepEqual(await keys(`country=${encodeURIComponent(COUNTRY)}`), ['192.0.2.60']);
    assert.deepEqual(await keys(`infrastructure=${'I'.repeat(LABEL_MAX_LENGTH)}&operator=${encodeURIComponent(OPERATOR)}`), ['192.0.2.60']);
    assert.deepEqual(await keys(`operator=${encodeURIComponent(`${OPERATOR.slice(0, 735)}Z`)}`), ['192.0.2.62']);
    const tooLong = await request(`${api.base}/feed/v1/ips?operator=${TOO_LONG}`);
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.json.message, new RegExp(`must NOT have more than ${LABEL_MAX_LENGTH} characters`));

    const cli = await runCli(['list', '--operator', OPERATOR, '--country', COUNTRY], { IPOID_DB_URL: api.dbUrl });
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(
      jsonLines(cli.stdout).map((l) => l.ip),
      ['192.0.2.60'],
    );
  });

  test('two labels of a kind sharing their first 736 characters: both kept on SQLite; on MariaDB the import fails, saying why, data unchanged', async () => {
    const twins = jsonLinesFeed([...FEED, { ip: '192.0.2.63', tunnels: [{ operator: `${OPERATOR.slice(0, 736)}Y` }] }], 'twins.jsonl');
    const run = importFeed(api.store, twins, { feed: 'anonymous', logger: quietLogger });
    if (target.name === 'sqlite') {
      assert.equal((await run).inserted, 1);
      return;
    }
    await assert.rejects(run, /cannot be stored: MariaDB keeps the labels of a kind unique by their first 736 characters/);
    assert.equal((await request(`${api.base}/feed/v1/ip/192.0.2.63`)).status, 404);
    assert.equal((await request(`${api.base}/feed/v1/ip/192.0.2.60`)).status, 200);
  });

  if (target.name === 'mariadb') {
    test("MariaDB reads a list filter's label by its unique key, as a constant", async () => {
      const conn = await serverConnection(api.dbUrl);
      try {
        await conn.query(`USE \`${new URL(api.dbUrl).pathname.slice(1)}\``);
        for (const labels of [
          [{ kind: 'operator' as const, value: OPERATOR }],
          [
            { kind: 'risk' as const, value: 'TUNNEL' },
            { kind: 'country' as const, value: COUNTRY },
          ],
        ]) {
          const { sql, values } = listQuery({ labels, limit: 100 }, 'd.ip_text');
          const plan = await conn.query<{ table: string; type: string; Extra: string }[]>(`EXPLAIN ${sql}`, values);
          // A constant (one row by a unique key): the page is then a range scan in key order, no filesort.
          const shown = JSON.stringify(plan, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
          for (const i of labels.keys()) assert.equal(plan.find((r) => r.table === `l${i}`)?.type, 'const', `label l${i}: ${shown}`);
          assert.ok(!plan.some((r) => /filesort/.test(r.Extra)), shown);
        }
      } finally {
        await conn.end();
      }
    });
  }
});
