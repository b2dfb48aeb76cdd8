import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FeedReadError } from '../../src/feed/bytes.ts';
import { fixtureRecords, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { chunked, readAll } from '../helpers/read-feed.ts';

test('reads plain JSON lines from a file and canonicalises addresses', async () => {
  const parsed = await readAll(SAMPLE_FEED);
  assert.equal(parsed.length, 10);
  assert.ok(parsed.every((p) => p.ok));
  const records = parsed.flatMap((p) => (p.ok ? [p.record] : []));
  assert.deepEqual(
    records.map((r) => r.line),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.deepEqual(
    records.map((r) => r.context),
    fixtureRecords(SAMPLE_FEED),
  );
  const nord = records[1]!;
  assert.deepEqual(nord.labels, [
    ['risk', 'TUNNEL'],
    ['risk', 'CALLBACK_PROXY'],
    ['service', 'OPENVPN'],
    ['service', 'IPSEC'],
    ['operator', 'NORD_VPN'],
    ['tunnel_type', 'VPN'],
    ['proxy', 'LUMINATI_PROXY'],
    ['proxy', 'OXYLABS_PROXY'],
    ['behavior', 'FILE_SHARING'],
    ['behavior', 'TOR_PROXY_USER'],
    ['client_type', 'DESKTOP'],
    ['client_type', 'MOBILE'],
    ['infrastructure', 'DATACENTER'],
    ['country', 'US'],
  ]);
});

test('gzip is detected by its bytes, whatever the name, and split across tiny chunks', async () => {
  const text = '{"ip":"2001:0DB8::1","risks":["TUNNEL"]}\r\n\n{"ip":"::ffff:10.0.0.1"}\n{"network":"2001:db8:1:2::9/64"}';
  for (const input of [Buffer.from(text), gzipSync(text)]) {
    const parsed = await readAll(chunked(input, 3));
    assert.deepEqual(
      parsed.map((p) => (p.ok ? [p.record.line, p.record.address.text, p.record.json] : p.skip)),
      [
        [1, '2001:db8::1', '{"ip":"2001:db8::1","risks":["TUNNEL"]}'],
        [3, '10.0.0.1', '{"ip":"10.0.0.1"}'],
        [4, '2001:db8:1:2::/64', '{"network":"2001:db8:1:2::/64"}'],
      ],
    );
  }
});

test('equal records hash equal; any change changes the hash', async () => {
  const [a, b, c] = await readAll(
    Readable.from(['{"ip":"1.2.3.4","risks":["TUNNEL"]}\n{"ip":"1.2.3.4","risks":["TUNNEL"]}\n{"ip":"1.2.3.4","risks":["SPAM"]}\n']),
  );
  assert.ok(a?.ok && b?.ok && c?.ok);
  assert.ok(a.record.hash.equals(b.record.hash));
  assert.ok(!a.record.hash.equals(c.record.hash));
});

test('an over-long line is skipped without buffering it, and the next line is read', async () => {
  const long = `{"ip":"1.2.3.4","organization":"${'x'.repeat(5000)}"}`;
  const parsed = await readAll(chunked(Buffer.from(`${long}\n{"ip":"1.2.3.5"}\n`), 100), 1000);
  assert.deepEqual(parsed[0], { ok: false, skip: { line: 1, reason: `line longer than 1000 bytes (${long.length})` } });
  assert.ok(parsed[1]?.ok && parsed[1].record.address.text === '1.2.3.5');
});

test('field types, ranges and both-address records are rejected with a reason', async () => {
  const lines = [
    '{"ip":"1.2.3.4","client":{"count":-1}}',
    '{"ip":"1.2.3.4","client":{"count":1e12}}',
    '{"ip":"1.2.3.4","risks":"TUNNEL"}',
    '{"ip":"1.2.3.4","risks":[""]}',
    '{"ip":"1.2.3.4","tunnels":[{"anonymous":"yes"}]}',
    '{"ip":"1.2.3.4","network":"2001:db8::/64"}',
    '{"network":"2001:db8::/200"}',
    '"just a string"',
    'null',
  ];
  // With a final newline: a last line that is no record and has none is a cut file, not a skip.
  const reasons = (await readAll(Readable.from([`${lines.join('\n')}\n`]))).map((p) => (p.ok ? 'ok' : p.skip.reason));
  assert.match(reasons[0]!, /invalid field client\.count: must be >= 0/);
  assert.match(reasons[1]!, /client\.count: must be <= 2147483647/);
  assert.match(reasons[2]!, /risks: must be array/);
  assert.match(reasons[3]!, /risks\.0: must NOT have fewer than 1 characters/);
  assert.match(reasons[4]!, /tunnels\.0\.anonymous: must be boolean/);
  assert.match(reasons[5]!, /both "ip" and "network"/);
  assert.match(reasons[6]!, /invalid prefix length/);
  assert.match(reasons[7]!, /not a JSON object \(string\)/);
  assert.match(reasons[8]!, /not a JSON object \(null\)/);
});

test('unknown enum values and unknown fields are kept', async () => {
  const [p] = await readAll(Readable.from(['{"ip":"1.2.3.4","risks":["BRAND_NEW"],"future_field":{"x":1}}']));
  assert.ok(p?.ok);
  assert.deepEqual(p.record.context, { ip: '1.2.3.4', risks: ['BRAND_NEW'], future_field: { x: 1 } });
  assert.deepEqual(p.record.labels, [['risk', 'BRAND_NEW']]);
});

test('a truncated or corrupt gzip stream is a read error, never a shorter feed', async () => {
  const lines = Array.from({ length: 2000 }, (_, i) => `{"ip":"10.0.${i >> 8}.${i & 255}","client":{"count":${(i * 7919) % 1000}}}`);
  const gz = gzipSync(Buffer.from(lines.join('\n')));
  await assert.rejects(readAll(chunked(gz.subarray(0, gz.length - 20), 64)), (err: unknown) => {
    assert.ok(err instanceof FeedReadError);
    assert.match((err as Error).message, /unexpected end of file/);
    return true;
  });
  const corrupt = Buffer.from(gz);
  corrupt.fill(0x55, 100, 140);
  await assert.rejects(readAll(chunked(corrupt, 64)), FeedReadError);
});

test('an I/O error on the source is a read error', async () => {
  const failing = new Readable({
    read() {
      this.destroy(new Error('EIO: disk gone'));
    },
  });
  await assert.rejects(readAll(failing), /cannot read feed: EIO: disk gone/);
  await assert.rejects(readAll('/nonexistent/feed.json.gz'), /cannot read feed: ENOENT/);
});

test('a last line cut without its newline is a truncated feed; a whole last line needs none', async () => {
  const whole = '{"ip":"1.2.3.4"}\n{"ip":"1.2.3.5","risks":["TUNNEL"]}';
  for (const text of [whole, `${whole}\r`, `${whole}\n`, `${whole}\n   `]) {
    for (const input of [Buffer.from(text), gzipSync(text)]) {
      const parsed = await readAll(chunked(input, 5));
      assert.deepEqual(
        parsed.map((p) => p.ok && p.record.address.text),
        ['1.2.3.4', '1.2.3.5'],
        JSON.stringify(text),
      );
    }
  }
  // Cut inside the record, inside a multi-byte character, or a bad line at the very end.
  const cuts = [whole.slice(0, -5), `${whole}\n{"ip":"1.2.3.6","organization":"\u00e9`.slice(0, -1), `${whole}\nnot json`];
  for (const text of cuts) {
    for (const input of [Buffer.from(text), gzipSync(text)]) {
      await assert.rejects(readAll(chunked(input, 5)), (err: unknown) => {
        assert.ok(err instanceof FeedReadError);
        assert.match(err.message, /^cannot read feed: it looks truncated: its last line \(\d\) has no newline and is no record \(/);
        return true;
      });
    }
  }
  // The same bad line with its newline is one skipped line.
  const parsed = await readAll(Readable.from([`${whole}\nnot json\n`]));
  assert.deepEqual(
    parsed.map((p) => p.ok || p.skip.line),
    [true, true, 3],
  );
});
