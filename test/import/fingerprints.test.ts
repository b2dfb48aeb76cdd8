import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoredFingerprints } from '../../src/import/fingerprints.ts';

/*
 * A line whose fingerprint the search misses is still imported right (it is parsed and found
 * unchanged by key), only slower: no import test can tell. So the search is checked here, at
 * the edges of its buckets (the top 16 bits of a fingerprint).
 */
const fingerprint = (high: number, low: number): Buffer => {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32BE(high, 0);
  bytes.writeUInt32BE(low, 4);
  return bytes;
};

const load = (stored: [number, number][]): Promise<StoredFingerprints> =>
  StoredFingerprints.load(stored.length, async (visit) => {
    // In two chunks, as the stores hand them out.
    const half = stored.length >> 1;
    for (const part of [stored.slice(0, half), stored.slice(half)]) {
      visit(Buffer.concat(part.map(([high, low]) => fingerprint(high, low).subarray(0, 8))));
    }
  });

test('every stored fingerprint is found at its index, at the edges of buckets and of the table', async () => {
  const stored: [number, number][] = [
    [0x00000000, 0],
    [0x00000000, 5],
    [0x0000ffff, 0xffffffff],
    [0x00010000, 0],
    [0x7fffffff, 1],
    [0x80000000, 0],
    [0x8000ffff, 7],
    [0xfffe0000, 3],
    [0xffffffff, 0xfffffffe],
    [0xffffffff, 0xffffffff],
  ];
  const set = await load(stored);
  stored.forEach(([high, low], index) => assert.equal(set.find(fingerprint(high, low)), index, `${high.toString(16)}:${low}`));
});

test('a fingerprint not stored is not found, whether its bucket is empty or not', async () => {
  const set = await load([
    [0x00010000, 10],
    [0x00010005, 0],
    [0xffffffff, 1],
  ]);
  for (const [high, low] of [
    [0x00000000, 0],
    [0x00010000, 9],
    [0x00010000, 11],
    [0x0001ffff, 0],
    [0x00020000, 0],
    [0xffffffff, 0],
    [0xffffffff, 2],
  ] as const) {
    assert.equal(set.find(fingerprint(high, low)), -1, `${high.toString(16)}:${low}`);
  }
});

test('a fingerprint two stored records share is not found: those records take the full path', async () => {
  const set = await load([
    [0x12340000, 1],
    [0x12345678, 9],
    [0x12345678, 9],
    [0x12350000, 0],
  ]);
  assert.equal(set.find(fingerprint(0x12345678, 9)), -1);
  assert.equal(set.find(fingerprint(0x12340000, 1)), 0);
  assert.equal(set.find(fingerprint(0x12350000, 0)), 3);
});

test('stored fingerprints out of order or miscounted fail the load', async () => {
  await assert.rejects(
    load([
      [2, 0],
      [1, 0],
    ]),
    /not in order/,
  );
  await assert.rejects(
    StoredFingerprints.load(3, async (visit) => visit(fingerprint(1, 1).subarray(0, 8))),
    /listed 1 record hashes for 3 records/,
  );
});

test('the fingerprints no line matched are listed whole, in order, from every bucket', async () => {
  const stored: [number, number][] = [
    [0x00000000, 0],
    [0x0000ffff, 0xffffffff],
    [0x00010000, 0],
    [0x7fff8000, 1],
    [0x80000000, 0],
    [0xfffe0000, 3],
    [0xffffffff, 0xfffffffe],
    [0xffffffff, 0xffffffff],
  ];
  const set = await load(stored);
  for (const index of [1, 4, 7]) set.match(index, 100 + index);
  assert.deepEqual(
    [...set.unmatched()].map((bytes) => [bytes.readUInt32BE(0), bytes.readUInt32BE(4)]),
    stored.filter((_, index) => ![1, 4, 7].includes(index)),
  );
  assert.equal(set.matchedBy(4), 104);
});

test('freeing the set gives its 10 bytes a fingerprint back at once, not at a later collection', async () => {
  const count = 2_000_000;
  const listed = Buffer.alloc(count * 8);
  for (let i = 0; i < count; i++) {
    listed.writeUInt32BE(Math.floor((i * 2 ** 32) / count), i * 8);
    listed.writeUInt32BE(i, i * 8 + 4);
  }
  const set = await StoredFingerprints.load(count, async (visit) => visit(listed));
  assert.equal(set.find(listed, 8 * 12345), 12345);
  const before = process.memoryUsage().arrayBuffers;
  await set.free();
  const freed = before - process.memoryUsage().arrayBuffers;
  // (`listed`, still used below, cannot be collected meanwhile.)
  assert.ok(freed >= count * 10, `freed ${freed} bytes of ${count * 10}`);
  assert.equal(set.find(listed, 8 * 12345), -1);
  assert.equal(listed.length, count * 8);
});
