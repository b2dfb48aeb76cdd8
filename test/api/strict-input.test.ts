import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { importFeed } from '../../src/import/importer.ts';
import { runCli } from '../helpers/cli.ts';
import { quietLogger } from '../helpers/fixtures.ts';
import { forEachStore } from '../helpers/stores.ts';
import { assertError, request, startApi, type TestApi } from '../helpers/http.ts';

// An address with whitespace around it, percent-encoded as a URL carries it.
const PADDED = ['%201.1.1.1', '1.1.1.1%20', '%0A1.1.1.1', '1.1.1.1%0A', '%091.1.1.1', '1.1.1.1%0D%0A', '%C2%A01.1.1.1'];
const WHY = /\(leading or trailing whitespace\)/;

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(target);
  });
  after(async () => api.close());

  test('an address with whitespace around it is 400 saying so, on every route that takes one', async () => {
    for (const padded of PADDED) {
      const text = decodeURIComponent(padded);
      const expected = new RegExp(
        `not an IPv4 or IPv6 address: ${JSON.stringify(text).replace(/[\\[\]().*+?^$|]/g, '\\$&')} \\(leading or trailing whitespace\\)`,
      );
      assertError(await request(`${api.base}/feed/v1/ip/${padded}`), 400, expected);
      assertError(await request(`${api.base}/v2/context/${padded}`), 400, WHY);
      const search = await request(`${api.base}/ipoid/_search`, { method: 'POST', body: { query: { term: { ip: text } } } });
      assertError(search, 400, WHY);
      const batch = await request(`${api.base}/feed/v1/ips`, { method: 'POST', body: { ips: ['1.1.1.1', text] } });
      assertError(batch, 400, /not IP addresses: ".*1\.1\.1\.1.*" \(leading or trailing whitespace\)/);
      assert.deepEqual(batch.json.invalid, [text]);
    }
    for (const prefix of ['%20203.0.113.0/24', '203.0.113.0/24%20', '203.0.113.0%20/24', '%0A203.0.113.7']) {
      assertError(await request(`${api.base}/feed/v1/ips?prefix=${prefix}`), 400, /invalid prefix: .*leading or trailing whitespace/);
    }
    assertError(await request(`${api.base}/feed/v1/ips?prefix=203.0.113.0/%2024`), 400, /invalid prefix: invalid prefix length/);
    assert.equal((await request(`${api.base}/feed/v1/ip/1.1.1.1`)).status, 200);
  });

  test('limit takes plain decimal digits only: anything Ajv would coerce is 400 naming it', async () => {
    const list = (limit: string) => request(`${api.base}/feed/v1/ips?limit=${limit}`);
    for (const limit of ['0x10', '%2016', '16%20', '1e1', '16.0', '%2B16', '-1', '0b10', '0o10', 'Infinity', '', '%0A16', '1_0']) {
      assertError(await list(limit), 400, /^querystring\/limit must match pattern/);
    }
    for (const limit of ['0', '1001', '99999999999999999999'])
      assertError(await list(limit), 400, /^querystring\/limit must be from 1 to 1000$/);
    for (const [limit, size] of [
      ['3', 3],
      ['0003', 3],
      ['1000', 10],
    ] as const) {
      const answer = await list(limit);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.json.ips.length, size, limit);
    }
    const doc = (await request(`${api.base}/openapi.json`)).json;
    const param = doc.paths['/feed/v1/ips'].get.parameters.find((p: { name: string }) => p.name === 'limit');
    assert.deepEqual([param.schema.type, param.schema.pattern], ['string', '^[0-9]+$'], 'the document says what is accepted');
  });

  test('a feed line whose ip or network has whitespace around it is skipped with that reason', async () => {
    const lines = ['{"ip":" 192.0.2.9"}', '{"ip":"192.0.2.10\\n"}', '{"network":"2001:db8:bbbb::/48 "}', '{"ip":"192.0.2.11"}'];
    const run = await importFeed(api.store, Readable.from([lines.join('\n')]), {
      feed: 'anonymous-residential',
      logger: quietLogger,
      maxSkippedRatio: 1,
    });
    assert.equal(run.inserted, 1);
    assert.deepEqual(run.skippedSample, [
      { line: 1, reason: 'not an IPv4 or IPv6 address: " 192.0.2.9" (leading or trailing whitespace)' },
      { line: 2, reason: 'not an IPv4 or IPv6 address: "192.0.2.10\\n" (leading or trailing whitespace)' },
      { line: 3, reason: 'not a CIDR network: "2001:db8:bbbb::/48 " (leading or trailing whitespace)' },
    ]);
  });

  test('the CLI refuses padded addresses and prefixes with exit status 2 and the reason', async () => {
    const env = { IPOID_DB_URL: api.dbUrl };
    for (const args of [
      ['lookup', ' 1.1.1.1'],
      ['lookup', '1.1.1.1\t'],
      ['list', '--prefix', '203.0.113.0/24 '],
    ]) {
      const result = await runCli(args, env);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, WHY);
    }
    const ok = await runCli(['lookup', '1.1.1.1'], env);
    assert.equal(ok.code, 0, ok.stderr);
  });
});
