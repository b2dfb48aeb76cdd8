import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { FeedReadError } from '../../src/feed/bytes.ts';
import { MAX_JSON_DEPTH } from '../../src/feed/json-limits.ts';
import { DEFAULT_MAX_LINE_BYTES } from '../../src/feed/reader.ts';
import type { ParsedLine } from '../../src/feed/record.ts';
import { importFeed, ImportFailedError, type ImportOptions } from '../../src/import/importer.ts';
import { DEFAULT_MAX_SKIPPED_RATIO } from '../../src/import/limits.ts';
import type { ImportRunSummary, Store, StoredRecord } from '../../src/store/types.ts';
import { chunked, readAll } from '../helpers/read-feed.ts';
import { runCli } from '../helpers/cli.ts';
import { quietLogger, SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';
import { scaled, SOAK } from '../helpers/scale.ts';
import { forEachStore, freshStore, type StoreTarget } from '../helpers/stores.ts';
import { storedRecords } from '../helpers/snapshot.ts';

/*
 * A bad feed never hurts the stored data. Every store test starts from a known import (the
 * sample feed, in two feeds) and compares everything stored, last_updated included, before
 * and after: a failed import leaves it exactly as it was; a successful one holds exactly the
 * feed's complete valid lines, never part of one, and counts every other line as skipped.
 */

// Repeatable in CI; the soak explores new inputs each time (the seed is printed to replay it).
const SEED = SOAK ? Date.now() % 2 ** 31 : 20261125;
const runs = (fast: number, long: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns: scaled(fast, long) });

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const INT32_MAX = 2_147_483_647;
/** The line limit of the generated feeds: small, so that over-long lines cost little. */
const LINE_LIMIT = 16 * 1024;

const SAMPLE_LINES = readFileSync(SAMPLE_FEED, 'utf8')
  .split('\n')
  .filter((l) => l !== '');
const addressOf = (context: Record<string, unknown>): string => String(context.ip ?? context.network);
/** The sample feed as the next day might bring it: every record changed, so no run of it can pass unseen. */
const NEXT_DAY = Buffer.from(SAMPLE_LINES.map((l) => `${l.slice(0, -1)},"day":2}\n`).join(''));
const NEXT_DAY_GZ = gzipSync(NEXT_DAY);

// --- generated feeds ---------------------------------------------------------------------

/** One line of a generated feed and what the importer must make of it. */
type Item =
  | { kind: 'valid'; bytes: Buffer; key: string; context: Record<string, unknown> }
  | { kind: 'garbage'; bytes: Buffer }
  | { kind: 'blank'; bytes: Buffer };

const valid = (line: string, key: string, context: Record<string, unknown>): Item => ({
  kind: 'valid',
  bytes: Buffer.from(line),
  key,
  context,
});
const garbage = (bytes: Buffer | string): Item => ({ kind: 'garbage', bytes: Buffer.from(bytes) });

// Keys: the sample's (a run updates, keeps and deletes them), new ones, and non-canonical spellings.
const NEW_KEYS = ['10.0.0.1', '10.0.0.2', '192.0.2.1', '2001:db8::a', '2001:db8::b', '2001:db8:1:2::/64'];
const KEYS = [...SAMPLE_LINES.map((l) => addressOf(JSON.parse(l))), ...NEW_KEYS];
const ALIASES: [spelling: string, key: string][] = [
  ['010.000.000.001', '10.0.0.1'],
  ['::ffff:10.0.0.2', '10.0.0.2'],
  ['2001:DB8::A', '2001:db8::a'],
  ['2001:db8:0:0:0:0:0:b', '2001:db8::b'],
  ['2001:DB8:1:2::9/64', '2001:db8:1:2::/64'],
];
const addressField = (key: string): string => (key.includes('/') ? 'network' : 'ip');

const label = fc.oneof(
  fc.constantFrom('TUNNEL', 'CALLBACK_PROXY', 'NORD_VPN', 'VPN', 'US'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
);
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(`O'Brien "Quotes" ; DROP TABLE ip_data; --`, 'a\u0000b', '\u2028\u2029', '😀 中文 é', '\\', '\uFEFF', '\r'),
);
const fields = fc.record(
  {
    organization: text,
    risks: fc.array(label, { maxLength: 3 }),
    location: fc.record({ country: label, city: text }, { requiredKeys: [] }),
    tunnels: fc.array(fc.record({ operator: label, type: label, anonymous: fc.boolean() }, { requiredKeys: [] }), { maxLength: 2 }),
    client: fc.record(
      {
        count: fc.integer({ min: 0, max: INT32_MAX }),
        proxies: fc.array(label, { maxLength: 2 }),
        concentration: fc.record({ density: fc.double({ min: 0, max: 1e9, noNaN: true }) }),
      },
      { requiredKeys: [] },
    ),
    future_field: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: [] },
);

const validItem: fc.Arbitrary<Item> = fc
  .oneof(
    fc.constantFrom(...SAMPLE_LINES).map((line) => valid(line, addressOf(JSON.parse(line)), JSON.parse(line))),
    fc.tuple(fc.constantFrom(...KEYS), fields).map(([key, f]) => {
      const line = JSON.stringify({ [addressField(key)]: key, ...f });
      return valid(line, key, JSON.parse(line));
    }),
    fc.tuple(fc.constantFrom(...ALIASES), fields).map(([[spelling, key], f]) => {
      const line = JSON.stringify({ [addressField(key)]: spelling, ...f });
      return valid(line, key, { ...JSON.parse(line), [addressField(key)]: key });
    }),
  )
  .filter((item) => item.bytes.length <= LINE_LIMIT);

const NOT_BLANK = [0x00, 0x01, 0x22, 0x23, 0x31, 0x5b, 0x78, 0x7f, 0x80, 0xfe, 0xff];
const BAD_BYTES = [[0x00], [0xff], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]];
const OUT_OF_RANGE = [
  '{"ip":"10.0.0.7","client":{"count":1e400}}',
  '{"ip":"10.0.0.7","client":{"count":-1}}',
  '{"ip":"10.0.0.7","client":{"count":2.5}}',
  '{"ip":"10.0.0.7","client":{"count":2147483648}}',
  '{"ip":"10.0.0.7","client":{"count":9007199254740993}}',
  '{"ip":"10.0.0.7","as":{"number":18446744073709551616}}',
  '{"ip":"10.0.0.7","as":{"number":4294967296}}',
  '{"ip":"10.0.0.7","client":{"concentration":{"density":1e308}}}',
  '{"ip":"10.0.0.7","future":-1e400}',
  '{"ip":"10.0.0.7","future":[1e99999999999]}',
];
const NOT_RECORDS = [
  '[]',
  '"text"',
  '42',
  'null',
  'true',
  '{}',
  '{"ip":""}',
  '{"ip":"999.1.1.1"}',
  '{"ip":"1.2.3.4/24"}',
  '{"ip":"fe80::1%eth0"}',
  '{"ip":"1.2.3.4","network":"2001:db8::/64"}',
  '{"network":"2001:db8::/129"}',
  '{"network":"10.0.0.0"}',
  '{"ip":"10.0.0.1","organization":"\\ud800"}',
  '{"\\udfff":1,"ip":"10.0.0.1"}',
  '{"ip":"10.0.0.1","risks":["TUNNEL"]',
];

/** Lines the importer must skip, each from a different way a feed goes bad. */
const garbageItem: fc.Arbitrary<Item> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...NOT_BLANK), fc.uint8Array({ maxLength: 300 }))
    .map(([first, rest]) => garbage(Buffer.from([first, ...rest.filter((b) => b !== 0x0a)]))),
  validItem.chain(({ bytes }) => fc.integer({ min: 1, max: bytes.length - 1 }).map((n) => garbage(bytes.subarray(0, n)))),
  fc.tuple(validItem, validItem).map(([a, b]) => garbage(Buffer.concat([a.bytes, b.bytes]))),
  fc.tuple(validItem, fc.constantFrom(...BAD_BYTES), fc.nat()).map(([{ bytes }, bad, at]) => {
    const i = at % (bytes.length + 1);
    return garbage(Buffer.concat([bytes.subarray(0, i), Buffer.from(bad), bytes.subarray(i)]));
  }),
  fc
    .tuple(fc.integer({ min: MAX_JSON_DEPTH, max: 3000 }), fc.boolean())
    .map(([n, arrays]) =>
      garbage(`{"ip":"10.0.0.9","x":${arrays ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n)}}`),
    ),
  fc.constantFrom(...OUT_OF_RANGE, ...NOT_RECORDS).map(garbage),
  validItem.map(({ bytes }) => garbage(Buffer.concat([bytes, Buffer.alloc(LINE_LIMIT, ' ')]))),
);

const blankItem: fc.Arbitrary<Item> = fc.constantFrom('', ' ', '\t', '\r', ' \t ').map((b) => ({ kind: 'blank', bytes: Buffer.from(b) }));

interface GeneratedFeed {
  items: Item[];
  ends: string[];
  finalNewline: boolean;
  bom: boolean;
  gzip: boolean;
  maxSkippedRatio: number | undefined;
}

const generatedFeed: fc.Arbitrary<GeneratedFeed> = fc
  .array(
    fc.tuple(
      fc.oneof({ weight: 3, arbitrary: validItem }, { weight: 2, arbitrary: garbageItem }, { weight: 1, arbitrary: blankItem }),
      fc.constantFrom('\n', '\r\n'),
    ),
    { maxLength: 60, size: 'medium' },
  )
  .chain((lines) =>
    fc.record({
      items: fc.constant(lines.map(([item]) => item)),
      ends: fc.constant(lines.map(([, end]) => end)),
      finalNewline: fc.boolean(),
      bom: fc.boolean(),
      gzip: fc.boolean(),
      // Mostly no limit, so that most feeds import and their records can be checked.
      maxSkippedRatio: fc.oneof(
        { weight: 4, arbitrary: fc.constant(1) },
        fc.constant(undefined),
        fc.constant(0),
        fc.double({ min: 0, max: 1, noNaN: true }),
      ),
    }),
  );

function feedBytes(feed: GeneratedFeed): Buffer {
  const parts = feed.items.flatMap((item, i) => [
    item.bytes,
    Buffer.from(i < feed.items.length - 1 || feed.finalNewline ? feed.ends[i]! : ''),
  ]);
  const plain = Buffer.concat([Buffer.from(feed.bom ? '\uFEFF' : ''), ...parts]);
  return feed.gzip ? gzipSync(plain) : plain;
}

interface Expected {
  records: Map<string, { context: Record<string, unknown>; bytes: Buffer }>;
  /** Skipped line numbers, with the first line of the key for duplicates. */
  skipped: Map<number, number | undefined>;
}

/**
 * The feed ends in a line that is no record and has no newline, short enough to be read: a
 * file cut there, which fails the read rather than losing a line. (A BOM counts in line 1.)
 */
function endsCut(feed: GeneratedFeed): boolean {
  const last = feed.items.at(-1);
  if (feed.finalNewline || last?.kind !== 'garbage') return false;
  const length = last.bytes.length - (last.bytes.at(-1) === 0x0d ? 1 : 0) + (feed.bom && feed.items.length === 1 ? 3 : 0);
  return length <= LINE_LIMIT;
}

/** What the importer must do with a generated feed: the first line of each key wins. */
function expectedImport(feed: GeneratedFeed): Expected {
  const expected: Expected = { records: new Map(), skipped: new Map() };
  const firstLines = new Map<string, number>();
  feed.items.forEach((item, i) => {
    const line = i + 1;
    if (item.kind === 'garbage') expected.skipped.set(line, undefined);
    if (item.kind !== 'valid') return;
    const first = firstLines.get(item.key);
    if (first !== undefined) {
      expected.skipped.set(line, first);
      return;
    }
    firstLines.set(item.key, line);
    expected.records.set(item.key, { context: item.context, bytes: item.bytes });
  });
  return expected;
}

// --- files as they are read back ---------------------------------------------------------

/** The lines of a feed that hold something, decoded where they are UTF-8: what must be stored or skipped. */
function contentLines(file: Buffer): (string | undefined)[] {
  const plain = file.subarray(0, 2).equals(GZIP_MAGIC) ? gunzipSync(file) : file;
  const lines: (string | undefined)[] = [];
  for (const [i, raw] of plain.toString('latin1').split('\n').entries()) {
    let bytes = Buffer.from(raw, 'latin1');
    if (bytes.at(-1) === 0x0d) bytes = bytes.subarray(0, -1);
    if (i === 0 && bytes.subarray(0, 3).equals(Buffer.from('\uFEFF'))) bytes = bytes.subarray(3);
    if (!isUtf8(bytes)) lines.push(undefined);
    else if (bytes.toString().trim() !== '') lines.push(bytes.toString());
  }
  return lines;
}

const withoutAddress = ({ ip: _ip, network: _network, ...rest }: Record<string, unknown>): Record<string, unknown> => rest;

function parses(line: string | undefined): Record<string, unknown> | undefined {
  try {
    const value: unknown = line === undefined ? undefined : JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Each record of `feed` is exactly one complete line of the file (its address may be respelt
 * canonically): never a prefix of a line, never two lines run together; and every line
 * holding something was either stored or counted as skipped.
 */
function assertRecordsAreLines(stored: StoredRecord[], file: Buffer, run: ImportRunSummary): void {
  const lines = contentLines(file);
  const parsed = lines.map(parses);
  const records = stored.filter((r) => r.feed === run.feed);
  for (const record of records) {
    const line = parsed.find((l) => l !== undefined && isDeepStrictEqual(withoutAddress(l), withoutAddress(record.context)));
    assert.ok(line && typeof (line.ip ?? line.network) === 'string', `stored record ${record.key} is no line of the file`);
  }
  assert.equal(records.length + run.skipped, lines.length, 'every line holding something is stored or skipped');
}

// --- reading alone: every offset, every corrupt byte ----------------------------------------

/** Reads the bytes in chunks of `chunkSize`, failing on anything thrown but a FeedReadError. */
async function readOutcome(bytes: Buffer, chunkSize: number): Promise<ParsedLine[] | FeedReadError> {
  try {
    return await readAll(chunked(bytes, chunkSize));
  } catch (err) {
    if (err instanceof FeedReadError) return err;
    throw err;
  }
}

describe('reading a damaged gzip', () => {
  let whole: ParsedLine[];
  const chunkSize = (offset: number): number => 1 + ((offset * 7919 + SEED) % 97);
  before(async () => {
    whole = await readAll(chunked(NEXT_DAY_GZ, NEXT_DAY_GZ.length));
    assert.equal(whole.filter((p) => p.ok).length, SAMPLE_LINES.length);
  });

  test(`a gzip cut at every one of its offsets is a read error, never a shorter feed (seed ${SEED})`, async () => {
    // Cut before its 2-byte magic the file is not recognisable as gzip: empty, or one byte
    // without a newline that is no record, a cut line.
    assert.deepEqual(await readOutcome(NEXT_DAY_GZ.subarray(0, 0), 1), []);
    const oneByte = await readOutcome(NEXT_DAY_GZ.subarray(0, 1), 1);
    assert.ok(oneByte instanceof FeedReadError && /it looks truncated/.test(oneByte.message));
    for (let offset = 2; offset < NEXT_DAY_GZ.length; offset++) {
      const outcome = await readOutcome(NEXT_DAY_GZ.subarray(0, offset), chunkSize(offset));
      assert.ok(outcome instanceof FeedReadError, `cut at ${offset} of ${NEXT_DAY_GZ.length} read as ${JSON.stringify(outcome)}`);
      assert.match(outcome.message, /^cannot read feed: unexpected end of file$/);
    }
  });

  test('a corrupt byte at any offset is a read error, unless it only touches header metadata', async () => {
    let harmless = 0;
    for (let offset = 0; offset < NEXT_DAY_GZ.length; offset++) {
      const corrupt = Buffer.from(NEXT_DAY_GZ);
      corrupt[offset]! ^= 1 + ((offset * 31 + SEED) % 255);
      const outcome = await readOutcome(corrupt, chunkSize(offset));
      if (outcome instanceof FeedReadError) continue;
      // Without its magic the file is read as text: binary noise, not one record.
      if (offset < 2) {
        assert.ok(
          outcome.every((p) => !p.ok),
          `a corrupt magic byte at ${offset} read as records`,
        );
        continue;
      }
      // Modification time, extra flags, operating system (bytes 4-9), or the FTEXT hint: the data is intact.
      assert.deepEqual(outcome, whole, `a corrupt byte at ${offset} changed what was read`);
      harmless += 1;
    }
    assert.ok(harmless <= 7, `${harmless} corrupt bytes went unnoticed`);
  });

  test('bytes after the last gzip member are a read error, whatever they are and however they arrive', async () => {
    const member = gzipSync('{"ip":"10.0.0.1"}\n');
    const tails = [
      Buffer.alloc(8),
      Buffer.from('\0garbage'),
      Buffer.from('\n'),
      Buffer.concat([Buffer.alloc(3), member]),
      Buffer.concat([member, Buffer.alloc(1)]),
      GZIP_MAGIC,
    ];
    for (const tail of tails) {
      for (const size of [1, 2, 7, 4096, 1 << 20]) {
        const outcome = await readOutcome(Buffer.concat([NEXT_DAY_GZ, tail]), size);
        assert.ok(outcome instanceof FeedReadError, `tail ${JSON.stringify(tail.toString('latin1'))} in chunks of ${size} read as a feed`);
      }
    }
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 200 }), async (tail, size) => {
        const outcome = await readOutcome(Buffer.concat([NEXT_DAY_GZ, tail]), size);
        assert.ok(outcome instanceof FeedReadError);
      }),
      runs(200, 20_000),
    );
  });

  test('concatenated gzip members are one feed, as gzip -d reads them, even split inside a line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: NEXT_DAY.length }), { maxLength: 6 }),
        fc.integer({ min: 1, max: 300 }),
        async (cuts, size) => {
          const bounds = [0, ...cuts.sort((a, b) => a - b), NEXT_DAY.length];
          const members = bounds.slice(1).map((end, i) => gzipSync(NEXT_DAY.subarray(bounds[i], end)));
          assert.deepEqual(await readOutcome(Buffer.concat(members), size), whole);
        },
      ),
      runs(100, 10_000),
    );
  });

  test('random bytes, plain or behind a gzip magic, read as skipped lines or a read error, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.boolean(), fc.integer({ min: 1, max: 500 }), async (bytes, magic, size) => {
        const outcome = await readOutcome(Buffer.concat([magic ? GZIP_MAGIC : Buffer.alloc(0), bytes]), size);
        if (outcome instanceof FeedReadError) return;
        assert.ok(
          outcome.every((p) => !p.ok),
          'random bytes read as a record',
        );
      }),
      runs(300, 30_000),
    );
  });
});

describe('reading lines at the edges', () => {
  const record = (ip: string, extra = ''): string => `{"ip":"${ip}"${extra}}`;

  test('a line of 10 MB is skipped unread, with or without a newline, in the middle or at the end', async () => {
    const huge = record('10.0.0.5', `,"x":"${'a'.repeat(10 * 1024 * 1024)}"`);
    const cases: [string, (string | number)[][]][] = [
      [
        `${record('10.0.0.1')}\n${huge}\n${record('10.0.0.2')}\n`,
        [
          [1, '10.0.0.1'],
          [2, 'longer'],
          [3, '10.0.0.2'],
        ],
      ],
      [
        `${record('10.0.0.1')}\n${huge}\n`,
        [
          [1, '10.0.0.1'],
          [2, 'longer'],
        ],
      ],
      [
        `${record('10.0.0.1')}\n${huge}`,
        [
          [1, '10.0.0.1'],
          [2, 'longer'],
        ],
      ],
      [huge, [[1, 'longer']]],
    ];
    for (const [text, expected] of cases) {
      for (const bytes of [Buffer.from(text), gzipSync(text)]) {
        const parsed = await readAll(chunked(bytes, 64 * 1024));
        assert.deepEqual(
          parsed.map((p) => (p.ok ? [p.record.line, p.record.address.text] : [p.skip.line, p.skip.reason.split(' ')[1]!])),
          expected,
        );
        const skip = parsed.find((p) => !p.ok);
        assert.equal(skip?.skip.reason, `line longer than ${DEFAULT_MAX_LINE_BYTES} bytes (${Buffer.byteLength(huge)})`);
      }
    }
  });

  test('the line limit counts the line, not its line end', async () => {
    const limit = 100;
    const exactly = record('10.0.0.1', `,"x":"${'a'.repeat(limit - 24)}"`);
    assert.equal(exactly.length, limit);
    const over = `${exactly.slice(0, -2)}a"}`;
    for (const [between, last] of [
      ['\n', '\n'],
      ['\r\n', '\r\n'],
      ['\r\n', ''],
    ]) {
      const parsed = await readAll(chunked(Buffer.from(`${exactly}${between}${over}${last}`), 7), limit);
      assert.deepEqual(
        parsed.map((p) => (p.ok ? p.record.line : p.skip.reason)),
        [1, `line longer than ${limit} bytes (${limit + 1})`],
      );
    }
  });

  test('a byte order mark opens the file; anywhere else it is no JSON', async () => {
    const text = `\uFEFF${record('10.0.0.1')}\n\uFEFF${record('10.0.0.2')}\n`;
    for (const bytes of [Buffer.from(text), gzipSync(text)]) {
      const parsed = await readAll(chunked(bytes, 1));
      assert.ok(parsed[0]?.ok && parsed[0].record.json === record('10.0.0.1'));
      assert.match(parsed[1]?.ok === false ? parsed[1].skip.reason : '', /^invalid JSON/);
    }
  });
});

// --- importing into a store -----------------------------------------------------------------

/** Each case: a line, and what must become of it (a record's key, a skip reason, or nothing for a blank). */
const EDGE_LINES: [line: Buffer | string, outcome: RegExp | string | null][] = [
  [`\uFEFF${SAMPLE_LINES[0]}`, '1.1.1.1'],
  [`{"ip":"10.1.0.2","risks":["CRLF"]}\r`, '10.1.0.2'],
  ['', null],
  [' \t ', null],
  ['\r', null],
  ['\0\0\0', /^invalid JSON/],
  [Buffer.from('\0{"ip":"10.1.0.3"}'), /^invalid JSON/],
  [Buffer.from('{"ip":"10.1.0.3","organization":"a\0b"}'), /^invalid JSON/],
  ['{"ip":"10.1.0.4","organization":"a\\u0000b","risks":["X\\u0000Y"]}', '10.1.0.4'],
  [`{"ip":"10.1.0.5","x":"${'a'.repeat(10 * 1024 * 1024)}"}`, /^line longer than 1048576 bytes/],
  [`{"ip":"10.1.0.6","x":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`, '10.1.0.6'],
  [`{"ip":"10.1.0.7","x":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`, /^record holds JSON nested deeper than 31 levels$/],
  [`{"ip":"10.1.0.7","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, /^record holds JSON nested deeper/],
  [`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`, /^record holds JSON nested deeper/],
  [`${'['.repeat(600_000)}${']'.repeat(600_000)}`, /^line longer than/],
  ['['.repeat(100_000), /^invalid JSON/],
  ['{"ip":"10.1.0.8","client":{"count":1e400}}', /^record holds a number beyond the range of a double$/],
  ['{"ip":"10.1.0.8","future":-1e400}', /^record holds a number beyond/],
  ['{"ip":"10.1.0.8","future":1e99999999999999}', /^record holds a number beyond/],
  ['{"ip":"10.1.0.8","as":{"number":18446744073709551616}}', /^invalid field as\.number: must be <= 4294967295$/],
  ['{"ip":"10.1.0.8","client":{"count":9007199254740993}}', /^invalid field client\.count: must be <= 2147483647$/],
  ['{"ip":"10.1.0.8","client":{"count":2.5}}', /^invalid field client\.count: must be integer$/],
  [
    '{"ip":"10.1.0.8","client":{"concentration":{"density":1e308}}}',
    /^invalid field client\.concentration\.density: must be <= 1000000000$/,
  ],
  ['{"ip":"10.1.0.9","client":{"count":-0,"countries":1.0,"spread":1e-400}}', '10.1.0.9'],
  [Buffer.from([...Buffer.from('{"ip":"10.1.0.10","organization":"'), 0xff, ...Buffer.from('"}')]), /^not valid UTF-8$/],
  [Buffer.from([...Buffer.from('{"ip":"10.1.0.10","organization":"'), 0xc0, 0xaf, ...Buffer.from('"}')]), /^not valid UTF-8$/],
  [Buffer.from([...Buffer.from('{"ip":"10.1.0.10","organization":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]), /^not valid UTF-8$/],
  [Buffer.from([...Buffer.from('{"ip":"10.1.0.10","organization":"x'), 0xe2, 0x82]), /^not valid UTF-8$/],
  ['{"ip":"10.1.0.11","organization":"é 😀 中文 \\ud83d\\ude00"}', '10.1.0.11'],
  ['{"ip":"10.1.0.12","organization":"\\ud800"}', /^record holds a string with an unpaired surrogate/],
  [`\uFEFF{"ip":"10.1.0.13"}`, /^invalid JSON/],
  [`${'😀'.repeat(40)}x`, /^invalid JSON: Unexpected token/],
  ['{"ip":"10.1.0.14"}', '10.1.0.14'],
];

forEachStore((target: StoreTarget) => {
  let store: Store;
  let url: string;
  let close: () => Promise<void>;
  let baseline: StoredRecord[];
  const dir = tempDir();
  const feedPath = join(dir, 'feed');

  /** The known earlier import: the sample feed as `anonymous` and as `anonymous-residential`. */
  const importBaseline = async (): Promise<void> => {
    // It undoes whatever a test imported, however much: no change limit.
    for (const feed of ['anonymous', 'anonymous-residential'] as const)
      await importFeed(store, SAMPLE_FEED, { feed, logger: quietLogger, maxChangeRatio: 1 });
    baseline = await storedRecords(store);
  };

  before(async () => {
    ({ store, url, close } = await freshStore(target));
    await importBaseline();
  });
  after(async () => close());

  type Outcome = { ok: true; run: ImportRunSummary } | { ok: false; error: ImportFailedError };

  /**
   * Imports the bytes as the `anonymous` feed and lets `check` judge the outcome; anything
   * thrown but the documented failure fails the test. A successful import is then undone, so
   * that every run (shrinking included) starts from the known earlier import.
   */
  async function attempt(bytes: Buffer, options: Partial<ImportOptions>, check: (outcome: Outcome) => Promise<void> | void): Promise<void> {
    writeFileSync(feedPath, bytes);
    let outcome: Outcome;
    try {
      // Most of these feeds replace the baseline on purpose: no change limit (it has its own tests).
      outcome = {
        ok: true,
        run: await importFeed(store, feedPath, { feed: 'anonymous', logger: quietLogger, maxChangeRatio: 1, ...options }),
      };
    } catch (err) {
      if (!(err instanceof ImportFailedError)) throw err;
      outcome = { ok: false, error: err };
    }
    try {
      await check(outcome);
    } finally {
      if (outcome.ok) await importBaseline();
    }
  }

  /** The import failed for `reason`, changed nothing stored, and was recorded as failed. */
  async function assertRefused(outcome: Outcome, reason: RegExp): Promise<void> {
    assert.ok(!outcome.ok, `imported a feed that had to be refused (${reason})`);
    assert.match(outcome.error.message, reason);
    assert.deepStrictEqual(await storedRecords(store), baseline, `stored data changed by a failed import (${outcome.error.message})`);
    const [run] = await store.importRuns({ limit: 1 });
    assert.deepEqual([run?.status, run?.error, run?.inserted, run?.updated, run?.deleted], ['failed', outcome.error.run.error, 0, 0, 0]);
  }

  test(`generated feeds mixing valid lines, garbage and blank lines import exactly their valid lines, or nothing (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(generatedFeed, (feed) => {
        const expected = expectedImport(feed);
        const skipped = expected.skipped.size;
        const lines = expected.records.size + skipped;
        const truncated = endsCut(feed);
        const refusal = truncated
          ? /: cannot read feed: it looks truncated: / // before counting the other lines
          : expected.records.size === 0
            ? /no valid record/
            : skipped / lines > (feed.maxSkippedRatio ?? DEFAULT_MAX_SKIPPED_RATIO)
              ? new RegExp(`: ${skipped} of ${lines} lines skipped`)
              : undefined;
        return attempt(feedBytes(feed), { maxLineBytes: LINE_LIMIT, maxSkippedRatio: feed.maxSkippedRatio }, async (outcome) => {
          if (refusal) {
            await assertRefused(outcome, refusal);
            if (!truncated) assert.equal(outcome.ok || outcome.error.run.skipped, skipped);
            return;
          }
          assert.ok(outcome.ok, `import failed: ${outcome.ok ? '' : outcome.error.message}`);
          const { run } = outcome;
          // Every skipped line is reported with its number (all fit in the sample), duplicates naming the first line.
          assert.equal(run.skipped, skipped);
          assert.deepEqual(
            run.skippedSample.map((s) => s.line).sort((a, b) => a - b),
            [...expected.skipped.keys()].sort((a, b) => a - b),
          );
          for (const { line, reason } of run.skippedSample) {
            const first = expected.skipped.get(line);
            if (first === undefined) assert.doesNotMatch(reason, /^duplicate/);
            else assert.match(reason, new RegExp(`^duplicate of line ${first} \\(`));
          }
          const stored = await storedRecords(store);
          const now = Math.floor(run.startedAt.getTime() / 1000);
          const before = new Map(baseline.filter((r) => r.feed === 'anonymous').map((r) => [r.key, r]));
          // A record whose stored JSON is the same line keeps its last_updated; any other gets the run's.
          const unchanged = (key: string, bytes: Buffer): boolean => before.has(key) && SAMPLE_LINES.includes(bytes.toString());
          assert.deepStrictEqual(
            new Map(stored.filter((r) => r.feed === 'anonymous').map((r) => [r.key, [r.context, r.lastUpdated]])),
            new Map(
              [...expected.records].map(([key, { context, bytes }]) => [
                key,
                [context, unchanged(key, bytes) ? before.get(key)!.lastUpdated : now],
              ]),
            ),
          );
          assert.deepStrictEqual(
            stored.filter((r) => r.feed !== 'anonymous'),
            baseline.filter((r) => r.feed !== 'anonymous'),
            'another feed changed',
          );
          const updated = [...expected.records].filter(([key, { bytes }]) => before.has(key) && !unchanged(key, bytes)).length;
          const inserted = [...expected.records.keys()].filter((key) => !before.has(key)).length;
          const deleted = [...before.keys()].filter((key) => !expected.records.has(key)).length;
          assert.deepEqual([run.inserted, run.updated, run.deleted, run.records], [inserted, updated, deleted, expected.records.size]);
        });
      }),
      runs(100, 5000),
    );
  });

  test('random bytes, plain or gzipped, never import anything and leave the stored data as it was', async () => {
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b)),
      fc.uint8Array({ maxLength: 4096 }).map((b) => gzipSync(b)),
      fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.concat([GZIP_MAGIC, b])),
    );
    await fc.assert(
      fc.asyncProperty(junk, (bytes) =>
        attempt(bytes, {}, async (outcome) => {
          if (outcome.ok) assertRecordsAreLines(await storedRecords(store), bytes, outcome.run);
          else await assertRefused(outcome, /no valid record|lines skipped|cannot read feed/);
        }),
      ),
      runs(50, 2000),
    );
  });

  test('a feed damaged byte by byte stores only complete lines of it and counts the rest as skipped', async () => {
    const sample = readFileSync(SAMPLE_FEED);
    const mutation = fc.record({
      at: fc.nat(),
      length: fc.integer({ min: 0, max: 40 }),
      bytes: fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.constantFrom([0x0a], [0x0d, 0x0a], [0x00], [0x22], [0x7d])),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 8 }), fc.boolean(), (mutations, gzip) => {
        // Each mutation inserts its bytes, or deletes `length` bytes when it has none.
        let damaged = sample;
        for (const { at, length, bytes } of mutations) {
          const i = at % (damaged.length + 1);
          damaged = Buffer.concat([damaged.subarray(0, i), Buffer.from(bytes), damaged.subarray(i + (bytes.length === 0 ? length : 0))]);
        }
        const file = gzip ? gzipSync(damaged) : damaged;
        return attempt(file, { maxSkippedRatio: 1 }, async (outcome) => {
          if (outcome.ok) assertRecordsAreLines(await storedRecords(store), file, outcome.run);
          // A mutation at the very end can cut the last line's newline off a bad line: a truncated file.
          else await assertRefused(outcome, /no valid record|cannot read feed: it looks truncated/);
        });
      }),
      runs(50, 2000),
    );
  });

  test('a gzip cut short fails the import and keeps the stored data, at every offset in the soak', async () => {
    const end = NEXT_DAY_GZ.length;
    const offsets = SOAK
      ? Array.from({ length: end }, (_, i) => i)
      : [0, 1, 2, 9, 10, 11, end - 8, end - 4, end - 1, ...fc.sample(fc.integer({ min: 12, max: end - 9 }), { seed: SEED, numRuns: 6 })];
    for (const offset of offsets) {
      await attempt(NEXT_DAY_GZ.subarray(0, offset), {}, (outcome) =>
        // One byte is too short for the gzip magic: read as a plain line without newline, cut.
        assertRefused(
          outcome,
          offset === 0
            ? /no valid record/
            : offset === 1
              ? /cannot read feed: it looks truncated/
              : /: cannot read feed: unexpected end of file$/,
        ),
      );
    }
  });

  test('a corrupt byte in the middle, or data after the gzip stream, fails the import and keeps the stored data', async () => {
    const corrupt = Buffer.from(NEXT_DAY_GZ);
    corrupt[corrupt.length >> 1]! ^= 0x55;
    const member = gzipSync(`${SAMPLE_LINES[0]}\n`);
    const cases: [Buffer, RegExp][] = [
      [corrupt, /: cannot read feed: /],
      [Buffer.concat([NEXT_DAY_GZ, Buffer.from('garbage')]), /: cannot read feed: incorrect header check$/],
      [Buffer.concat([NEXT_DAY_GZ, Buffer.alloc(512)]), /: cannot read feed: data after the end of the gzip stream$/],
      [Buffer.concat([NEXT_DAY_GZ, Buffer.alloc(1), member]), /: cannot read feed: data after the end of the gzip stream$/],
    ];
    for (const [bytes, reason] of cases) await attempt(bytes, {}, (outcome) => assertRefused(outcome, reason));
  });

  test('concatenated gzip members import as one feed', async () => {
    const [first, ...rest] = SAMPLE_LINES;
    const members = [gzipSync(`${first}\n${rest[0]!.slice(0, 20)}`), gzipSync(`${rest.join('\n').slice(20)}\n{"ip":"10.2.0.1"}`)];
    await attempt(Buffer.concat(members), {}, (outcome) => {
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
      assert.deepEqual([outcome.run.inserted, outcome.run.updated, outcome.run.deleted, outcome.run.skipped], [1, 0, 0, 0]);
    });
  });

  test('every edge of a line at once: 10 MB lines, NUL bytes, deep nesting, numbers out of range, bad UTF-8, BOM, CRLF, blank lines, no final newline', async () => {
    const bytes = Buffer.concat(EDGE_LINES.flatMap(([line], i) => [Buffer.from(line), Buffer.from(i < EDGE_LINES.length - 1 ? '\n' : '')]));
    await attempt(bytes, { maxSkippedRatio: 1 }, async (outcome) => {
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
      const reasons = new Map(outcome.run.skippedSample.map((s) => [s.line, s.reason]));
      const stored = new Map((await storedRecords(store)).filter((r) => r.feed === 'anonymous').map((r) => [r.key, r.context]));
      EDGE_LINES.forEach(([line, expected], i) => {
        const where = `line ${i + 1} (${JSON.stringify(line.toString().slice(0, 60))})`;
        if (expected === null) return assert.ok(!reasons.has(i + 1), `${where} is blank, not skipped`);
        if (expected instanceof RegExp) return assert.match(reasons.get(i + 1) ?? 'imported', expected, where);
        const text = line
          .toString()
          .replace(/^\uFEFF/, '')
          .replace(/\r$/, '');
        assert.deepStrictEqual(stored.get(expected), JSON.parse(text), where);
      });
      const keys = EDGE_LINES.flatMap(([, expected]) => (typeof expected === 'string' ? [expected] : []));
      assert.deepEqual([...stored.keys()].sort(), keys.sort());
      assert.equal(outcome.run.skipped, EDGE_LINES.filter(([, expected]) => expected instanceof RegExp).length);
    });
  });

  test('a feed file that is missing or cannot be read fails without taking the process down', async () => {
    const options = { feed: 'anonymous', logger: quietLogger } as const;
    await assert.rejects(importFeed(store, join(dir, 'missing.json.gz'), options), /ENOENT: no such file or directory/);
    const error = await importFeed(store, dir, options).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(error instanceof ImportFailedError);
    await assertRefused({ ok: false, error }, /: cannot read feed: EISDIR/);
    // A stream error nobody listens to would have ended the process by now.
    await sleep(50);
  });

  test('ipoid import: a broken feed exits 1 with the reason on stderr, and the stored data stays', async () => {
    const mostlyBroken = Buffer.concat([
      NEXT_DAY,
      Buffer.from(`${'x'.repeat(10 * 1024 * 1024)}\n`),
      Buffer.from(SAMPLE_LINES.map((l) => `${l}\0\n`).join('')),
    ]);
    const cases: [Buffer, RegExp][] = [
      [
        NEXT_DAY_GZ.subarray(0, NEXT_DAY_GZ.length >> 1),
        /^ipoid: import failed, stored data unchanged: cannot read feed: unexpected end of file$/m,
      ],
      [
        mostlyBroken,
        /^ipoid: import failed, stored data unchanged: 11 of 21 lines skipped \(52\.4%\), more than the limit of 1% skipped lines$/m,
      ],
    ];
    for (const [bytes, message] of cases) {
      writeFileSync(feedPath, bytes);
      const result = await runCli(['import', feedPath], { IPOID_DB_URL: url });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(result.stdout, '');
      assert.deepStrictEqual(await storedRecords(store), baseline);
      assert.equal((await store.importRuns({ limit: 1 }))[0]?.status, 'failed');
    }
  });
});
