import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { networkContains, parseIp, parseIpOrNetwork, parseNetwork } from '../../src/feed/ip.ts';
import { readFeed } from '../../src/feed/reader.ts';
import type { SpurRecord } from '../../src/feed/schema.ts';
import { generateFeed, runGenerate, writeFeed, type GenerateSummary } from '../../src/generator/index.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const KEY_ORDER = ['ip', 'network', 'as', 'organization', 'infrastructure', 'location', 'risks', 'services', 'tunnels', 'client'];
const RISKS = new Set(['TUNNEL', 'CALLBACK_PROXY', 'GEO_MISMATCH', 'LOGIN_BRUTEFORCE', 'WEB_SCRAPING', 'SPAM']);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ipoid-generator-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface ReadBack {
  /** Canonical address text → the record's JSON as an importer computes it. */
  records: Map<string, string>;
  lines: number;
  skips: number;
}

async function readBack(path: string): Promise<ReadBack> {
  const records = new Map<string, string>();
  let lines = 0;
  let skips = 0;
  for await (const line of readFeed(path)) {
    lines += 1;
    if (line.ok) records.set(line.record.address.text, line.record.json);
    else skips += 1;
  }
  return { records, lines, skips };
}

/** What an importer diffing `before` into `after` would do. */
function diff(before: Map<string, string>, after: Map<string, string>): GenerateSummary {
  const result = { records: after.size, removed: 0, changed: 0, added: 0, unchanged: 0 };
  for (const [address, json] of before) {
    const next = after.get(address);
    if (next === undefined) result.removed += 1;
    else if (next === json) result.unchanged += 1;
    else result.changed += 1;
  }
  for (const address of after.keys()) if (!before.has(address)) result.added += 1;
  return result;
}

function slash24(ip: string): string {
  return ip.slice(0, ip.lastIndexOf('.'));
}

test('the same seed gives byte-identical files, another seed a different one', async () => {
  const a = join(dir, 'a.json.gz');
  const b = join(dir, 'b.json.gz');
  const c = join(dir, 'c.json.gz');
  const plain = join(dir, 'a.jsonl');
  await writeFeed(generateFeed({ count: 3000, seed: 42 }), a);
  await writeFeed(generateFeed({ count: 3000, seed: 42 }), b);
  await writeFeed(generateFeed({ count: 3000, seed: 43 }), c);
  await writeFeed(generateFeed({ count: 3000, seed: 42 }), plain);
  const [bytesA, bytesB, bytesC, bytesPlain] = await Promise.all([a, b, c, plain].map((p) => readFile(p)));
  assert.deepEqual(bytesA, bytesB);
  assert.notDeepEqual(gunzipSync(bytesA!), gunzipSync(bytesC!));
  assert.deepEqual(gunzipSync(bytesA!), bytesPlain, 'only .gz paths are compressed');
  assert.equal(bytesPlain![0], '{'.charCodeAt(0));
});

test('a generated feed has the requested count of valid records with unique addresses', async () => {
  const path = join(dir, 'valid.json.gz');
  assert.equal(await writeFeed(generateFeed({ count: 5000, seed: 7 }), path), 5000);
  const { records, lines, skips } = await readBack(path);
  assert.equal(skips, 0);
  assert.equal(lines, 5000);
  assert.equal(records.size, 5000, 'addresses are unique');
});

test('addresses are canonical, never IPv4-mapped, and mix IPv4, IPv6, IPv6 /64 networks and a few containing networks', () => {
  const kinds = { ipv4: 0, ipv6: 0, network: 0, ipv4Network: 0, ipv6Container: 0 };
  for (const record of generateFeed({ count: 5000, seed: 11 })) {
    if (record.network !== undefined) {
      const network = parseNetwork(record.network);
      assert.equal(network.text, record.network);
      if (network.family === 4) {
        assert.ok(record.network.endsWith('/24'), record.network);
        kinds.ipv4Network += 1;
      } else if (record.network.endsWith('/48')) {
        kinds.ipv6Container += 1;
      } else {
        assert.ok(record.network.endsWith('/64'), record.network);
        kinds.network += 1;
      }
    } else {
      const ip = parseIp(record.ip!);
      assert.equal(ip.text, record.ip, 'canonical spelling');
      assert.equal(ip.family, record.ip!.includes(':') ? 6 : 4, `${record.ip} is not IPv4-mapped`);
      kinds[ip.family === 4 ? 'ipv4' : 'ipv6'] += 1;
    }
  }
  assert.ok(kinds.ipv4 / 5000 > 0.85 && kinds.ipv4 / 5000 < 0.95, `IPv4 share ${kinds.ipv4 / 5000}`);
  assert.ok(kinds.ipv6 > 100, `IPv6 addresses: ${kinds.ipv6}`);
  assert.ok(kinds.network > 50, `IPv6 networks: ${kinds.network}`);
  // Containing networks come at a realistic small rate: a few per thousand records.
  assert.ok(kinds.ipv4Network + kinds.ipv6Container < 25, `containing networks: ${kinds.ipv4Network + kinds.ipv6Container}`);
});

test('some generated networks contain other records: IPv4 /24s holding addresses, IPv6 /48s holding /64s', () => {
  const keys = [...generateFeed({ count: 5000, seed: 1 })].map((r) => (r.ip ?? r.network)!);
  const nested = nestedKeys(keys);
  assert.ok(
    nested.some((key) => !key.includes(':') && !key.includes('/')),
    'IPv4 addresses inside a stored /24',
  );
  assert.ok(
    nested.some((key) => key.endsWith('/64')),
    'IPv6 /64s inside a stored /48',
  );
  assert.ok(nested.length < keys.length / 10, `${nested.length} nested records`);
});

/** The generated records that lie inside another generated network. */
function nestedKeys(keys: Iterable<string>): string[] {
  const all = [...keys].map((key) => parseIpOrNetwork(key));
  const networks = all.filter((a) => a.prefixLen < 128);
  return all
    .filter((inner) =>
      networks.some((outer) => outer.prefixLen < inner.prefixLen && networkContains(outer.bytes, outer.prefixLen, inner.bytes)),
    )
    .map((a) => a.text);
}

test('addresses are clustered, and a cluster shares its operator and AS', () => {
  const byBlock = new Map<string, SpurRecord[]>();
  for (const record of generateFeed({ count: 5000, seed: 3 })) {
    if (record.ip === undefined || record.ip.includes(':')) continue;
    const block = slash24(record.ip);
    byBlock.set(block, [...(byBlock.get(block) ?? []), record]);
  }
  const sizes = [...byBlock.values()].map((records) => records.length);
  assert.ok(Math.max(...sizes) >= 20, `largest /24 holds ${Math.max(...sizes)}`);
  assert.ok(byBlock.size < 5000 / 10, `${byBlock.size} distinct /24s`);
  for (const records of byBlock.values()) {
    assert.ok(new Set(records.map((r) => r.tunnels?.[0]?.operator).filter(Boolean)).size <= 1);
    assert.ok(new Set(records.map((r) => r.as?.number).filter(Boolean)).size <= 1);
  }
});

test('records keep the spec key order and vary in which fields they carry', () => {
  const operators = new Map<string, number>();
  let bare = 0;
  let withClient = 0;
  let withoutClient = 0;
  const records = [...generateFeed({ count: 5000, seed: 5 })];
  for (const record of records) {
    const keys = Object.keys(record);
    const ranks = keys.map((k) => KEY_ORDER.indexOf(k));
    assert.ok(
      ranks.every((r, i) => r >= 0 && (i === 0 || r > ranks[i - 1]!)),
      `key order ${keys.join(',')}`,
    );
    if (keys.length === 1) bare += 1;
    if (record.client === undefined) withoutClient += 1;
    else withClient += 1;
    for (const risk of record.risks ?? []) assert.ok(RISKS.has(risk), risk);
    for (const t of record.tunnels ?? []) operators.set(t.operator!, (operators.get(t.operator!) ?? 0) + 1);
  }
  assert.ok(bare > 0, 'some records carry only their address');
  assert.ok(withClient > 0 && withoutClient > 0);
  assert.ok(operators.size >= 8, `${operators.size} operators`);
});

test('next-day mode: the diff an importer finds matches the reported counts exactly', async () => {
  const previous = join(dir, 'day1.json.gz');
  const next = join(dir, 'day2.json.gz');
  await runGenerate({ count: 5000, seed: 1, out: previous });
  const summary = await runGenerate({ from: previous, churn: 0.05, seed: 2, out: next });
  assert.deepEqual(summary, { records: 5000, removed: 83, changed: 83, added: 83, unchanged: 4834 });

  const before = await readBack(previous);
  const after = await readBack(next);
  assert.equal(after.skips, 0);
  assert.equal(after.lines, summary.records, 'no duplicate addresses in the next day');
  assert.deepEqual(diff(before.records, after.records), summary);

  // Some networks contain other records, on both days.
  assert.ok(nestedKeys(before.records.keys()).length > 10, 'nested records on day 1');
  assert.ok(nestedKeys(after.records.keys()).length > 10, 'nested records on day 2');

  // Some additions grow existing /24s, others open new ones.
  const previousBlocks = new Set([...before.records.keys()].filter((a) => !a.includes(':')).map(slash24));
  const addedIpv4 = [...after.records.keys()].filter((a) => !before.records.has(a) && !a.includes(':'));
  assert.ok(addedIpv4.some((a) => previousBlocks.has(slash24(a))));
  assert.ok(addedIpv4.some((a) => !previousBlocks.has(slash24(a))));
});

test('next-day mode is deterministic for a seed', async () => {
  const previous = join(dir, 'det-day1.jsonl');
  await runGenerate({ count: 2000, seed: 9, out: previous });
  const outs = ['det-a.jsonl', 'det-b.jsonl', 'det-c.jsonl'].map((name) => join(dir, name));
  await runGenerate({ from: previous, churn: 0.1, seed: 4, out: outs[0]! });
  await runGenerate({ from: previous, churn: 0.1, seed: 4, out: outs[1]! });
  await runGenerate({ from: previous, churn: 0.1, seed: 5, out: outs[2]! });
  const [a, b, c] = await Promise.all(outs.map((p) => readFile(p)));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('next-day mode with no churn carries every record over unchanged', async () => {
  const previous = join(dir, 'still-day1.json.gz');
  const next = join(dir, 'still-day2.json.gz');
  await runGenerate({ count: 1000, seed: 8, out: previous });
  const summary = await runGenerate({ from: previous, churn: 0, seed: 8, out: next });
  assert.deepEqual(summary, { records: 1000, removed: 0, changed: 0, added: 0, unchanged: 1000 });
  assert.deepEqual((await readBack(next)).records, (await readBack(previous)).records);
});

test('next-day mode handles a hand-written feed: sparse records, networks, unknown values', async () => {
  const previous = join(FIXTURES, 'sample-feed.jsonl');
  const next = join(dir, 'sample-day2.jsonl');
  const summary = await runGenerate({ from: previous, churn: 0.9, seed: 3, out: next });
  assert.deepEqual(summary, { records: 10, removed: 3, changed: 3, added: 3, unchanged: 4 });
  const after = await readBack(next);
  assert.equal(after.skips, 0);
  assert.deepEqual(diff((await readBack(previous)).records, after.records), summary);
});

/**
 * A generated feed made messy in the ways hand-made feeds are: a byte order mark, CRLF line
 * ends, blank and broken lines, addresses spelled non-canonically, a leading space, invalid
 * UTF-8, a line over the length limit, and no final newline. Every line stays the record it
 * was, or is no record at all.
 */
function messy(text: string): Buffer {
  const lines: Buffer[] = [];
  const push = (...more: string[]): number => lines.push(...more.map((line) => Buffer.from(line)));
  text
    .trimEnd()
    .split('\n')
    .forEach((line, i) => {
      const r = JSON.parse(line) as SpurRecord;
      if (i % 13 === 1) push('', '   ', 'not json', '[1,2]', '{"ip":"300.1.1.1"}');
      if (i === 100) {
        lines.push(Buffer.from('{"ip":"9.9.9.9","organization":"\xff"}', 'latin1'));
        push(`{"ip":"9.9.9.8","organization":"${'x'.repeat(1.5 * 1024 * 1024)}"}`);
      }
      if (i % 7 === 2 && r.ip !== undefined && !r.ip.includes(':'))
        line = line.replace(`"${r.ip}"`, `"${r.ip.replace(/\.(\d\d?)$/, '.0$1')}"`);
      else if (i % 7 === 2 && r.ip !== undefined) line = line.replace(`"${r.ip}"`, `"${r.ip.toUpperCase()}"`);
      else if (i % 7 === 2 && r.network?.endsWith('::/64'))
        line = line.replace(`"${r.network}"`, `"${r.network.replace('::/64', '::5/64')}"`);
      else if (i % 11 === 3) line = ` ${line}`;
      push(i % 5 === 4 ? `${line}\r` : line);
    });
  const newline = Buffer.from('\n');
  return Buffer.concat([Buffer.from('\uFEFF'), ...lines.flatMap((line, i) => (i > 0 ? [newline, line] : [line]))]);
}

test('next-day mode reads a messy previous feed as the importer does: counts, copies and changes stay exact', async () => {
  const clean = join(dir, 'messy-clean.jsonl');
  const previous = join(dir, 'messy-day1.jsonl');
  const next = join(dir, 'messy-day2.jsonl');
  await runGenerate({ count: 3000, seed: 21, out: clean });
  await writeFile(previous, messy(await readFile(clean, 'utf8')));
  const summary = await runGenerate({ from: previous, churn: 0.3, seed: 22, out: next });
  assert.deepEqual(summary, { records: 3000, removed: 300, changed: 300, added: 300, unchanged: 2400 });

  const before = await readBack(previous);
  const after = await readBack(next);
  assert.ok(before.skips > 0);
  assert.equal(before.records.size, 3000);
  assert.deepEqual(before.records, (await readBack(clean)).records, 'the mess changes no record an importer sees');
  assert.equal(after.skips, 0, 'lines that are no record are left out');
  assert.deepEqual(diff(before.records, after.records), summary);
});

test('next-day mode grows a single-address network with plain addresses', async () => {
  const previous = join(dir, 'single-networks.jsonl');
  const next = join(dir, 'single-networks-day2.jsonl');
  const lines = [...generateFeed({ count: 600, seed: 23 })].map(({ ip, network, ...rest }) =>
    JSON.stringify(ip === undefined ? { network, ...rest } : { network: `${ip}/${ip.includes(':') ? 128 : 32}`, ...rest }),
  );
  await writeFile(previous, `${lines.join('\n')}\n`);
  const summary = await runGenerate({ from: previous, churn: 0.9, seed: 24, out: next });
  const after = await readBack(next);
  assert.equal(after.skips, 0);
  assert.ok(
    [...after.records.keys()].some((key) => !key.includes('/')),
    'neighbors are plain addresses',
  );
  assert.deepEqual(diff((await readBack(previous)).records, after.records), summary);
});

test('next-day mode refuses a previous feed that lists an address twice', async () => {
  await assert.rejects(
    runGenerate({ from: join(FIXTURES, 'bad-lines.jsonl'), churn: 0.05, seed: 1, out: join(dir, 'never.jsonl') }),
    /more than once/,
  );
  // A single-address network is the address itself to an importer.
  for (const [ip, network] of [
    ['192.0.2.1', '192.0.2.1/32'],
    ['2001:db8::1', '2001:db8::1/128'],
  ]) {
    const previous = join(dir, 'twice.jsonl');
    await writeFile(previous, `{"ip":"${ip}"}\n{"network":"${network}"}\n`);
    await assert.rejects(runGenerate({ from: previous, churn: 0.05, seed: 1, out: join(dir, 'never.jsonl') }), /more than once/);
  }
});

test('next-day mode takes a line that starts like a record for one, and says so when it must parse one that is not', async () => {
  // Lines are not validated on sight (see line-address.ts): these count as three records.
  const previous = join(dir, 'broken-late.jsonl');
  await writeFile(
    previous,
    ['{"ip":"192.0.2.1","risks":[}', '{"ip":"192.0.2.2","risks":[}', '{"ip":"192.0.2.3","risks":[}', ''].join('\n'),
  );
  await assert.rejects(
    runGenerate({ from: previous, churn: 1, seed: 1, out: join(dir, 'broken-late-day2.jsonl') }),
    /line \d starts like a record but is none/,
  );
});

test('runGenerate rejects contradictory or missing options', async () => {
  const out = join(dir, 'x.jsonl');
  await assert.rejects(runGenerate({ seed: 1, out }), /count is required/);
  await assert.rejects(runGenerate({ count: 5, seed: 1, out, from: out }), /count cannot be combined/);
  await assert.rejects(runGenerate({ seed: 1, out, from: out }), /out must differ/);
  await assert.rejects(runGenerate({ seed: 1, out, from: join(FIXTURES, 'sample-feed.jsonl'), churn: 2 }), /churn/);
  await assert.rejects(runGenerate({ count: 5, seed: -1, out }), /seed/);
  await assert.rejects(runGenerate({ seed: 2 ** 32, out, from: join(FIXTURES, 'sample-feed.jsonl') }), /seed/);
  await assert.rejects(runGenerate({ count: 1.5, seed: 1, out }), /count/);
  await assert.rejects(access(out), 'no output file is left behind');
});

test('a fresh feed reports every record as added', async () => {
  const summary = await runGenerate({ count: 250, seed: 12, out: join(dir, 'fresh.json.gz') });
  assert.deepEqual(summary, { records: 250, removed: 0, changed: 0, added: 250, unchanged: 0 });
});
