import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';
import { readIpset, readNft } from '../helpers/firewall-files.ts';
import { request, serve } from '../helpers/http.ts';
import { openStore } from '../../src/store/open.ts';
import { forEachStore, type TestDatabase } from '../helpers/stores.ts';

forEachStore((target) => {
  let db: TestDatabase;
  const ipoid = (...args: string[]) => runCli(args, { IPOID_DB_URL: db.url });
  before(async () => {
    db = await target.createDatabase();
    const imported = await ipoid('import', SAMPLE_FEED);
    assert.equal(imported.code, 0, imported.stderr);
  });
  after(async () => db.drop());

  test('export writes each format to --out, the same bytes as the HTTP route', async () => {
    const dir = tempDir();
    const store = await openStore(db.url);
    const { app, base } = await serve(store);
    try {
      for (const [format, filters] of [
        ['txt', ['--risk', 'TUNNEL']],
        ['ipset', ['--prefix', '203.0.113.0/24', '--name', 'vpn']],
        ['nft', ['--operator', 'NORD_VPN', '--name', 'vpn']],
        ['csv', []],
        ['ndjson', ['--type', 'MOBILE']],
      ] as const) {
        const out = join(dir, `ipoid.${format}`);
        const result = await ipoid('export', '--format', format, ...filters, '--out', out);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, '');
        const query = new URLSearchParams({ format });
        for (let i = 0; i < filters.length; i += 2) query.set(filters[i]!.slice(2), filters[i + 1]!);
        assert.equal(readFileSync(out, 'utf8'), (await request(`${base}/feed/v1/export?${query}`)).text, format);
      }
      assert.deepEqual(readFileSync(join(dir, 'ipoid.txt'), 'utf8').split('\n'), [
        '192.0.2.200',
        '203.0.113.7',
        '203.0.113.8/31',
        '2001:db8::8a2e:370:7334',
        '',
      ]);
      assert.deepEqual(readIpset(readFileSync(join(dir, 'ipoid.ipset'), 'utf8')).get('vpn')?.entries, ['203.0.113.7', '203.0.113.8/31']);
      assert.deepEqual(readNft(readFileSync(join(dir, 'ipoid.nft'), 'utf8')).sets.get('vpn_v4')?.entries, ['203.0.113.7', '203.0.113.8']);
      assert.deepEqual(
        readdirSync(dir).sort(),
        ['ipoid.csv', 'ipoid.ipset', 'ipoid.ndjson', 'ipoid.nft', 'ipoid.txt'],
        'no temporary file left',
      );
    } finally {
      await app.close();
      await store.close();
    }
  });

  test('too many records, or bad options: a non-zero exit with a message, and the previous file untouched', async () => {
    const dir = tempDir();
    const out = join(dir, 'blocklist.txt');
    writeFileSync(out, 'the previous export\n');
    const tooMany = await ipoid('export', '--format', 'txt', '--risk', 'TUNNEL', '--max', '3', '--out', out);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /^ipoid: 5 records match; the export's limit is 3 \(--max 3\): narrow the filters\n$/);
    for (const bad of [
      ['--format', 'pdf'],
      ['--format', 'ipset', '--name', 'no-dashes'],
      ['--format', 'txt', '--max', '1e3'],
      ['--format', 'txt', '--prefix', '10.0.0.0/33'],
    ]) {
      const result = await ipoid('export', ...bad, '--out', out);
      assert.notEqual(result.code, 0, bad.join(' '));
      assert.match(result.stderr, /pdf|--name|--max|prefix length/);
      assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, 'no stack trace');
    }
    const missingDir = await ipoid('export', '--format', 'txt', '--out', join(dir, 'no', 'such', 'dir.txt'));
    assert.equal(missingDir.code, 1);
    assert.match(missingDir.stderr, /ENOENT/);
    assert.equal(readFileSync(out, 'utf8'), 'the previous export\n');
    assert.deepEqual(readdirSync(dir), ['blocklist.txt']);
  });
});
