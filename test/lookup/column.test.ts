import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ColumnBuilder } from '../../src/lookup/column.ts';

test('a column keeps every value while it widens from one byte to four and grows past its first capacity', () => {
  const values = Array.from({ length: 5000 }, (_, i) => (i < 1000 ? i % 256 : i < 3000 ? i * 20 : i * 100_000));
  const column = new ColumnBuilder();
  for (const value of values) column.push(value);
  const finished = column.finish({ shared: false });
  assert.ok(finished instanceof Uint32Array);
  assert.equal(finished.length, values.length);
  assert.deepEqual([...finished], values);
});

test('a column of small values stays one byte a value', () => {
  const column = new ColumnBuilder();
  for (let i = 0; i < 3000; i++) column.push(i % 200);
  const finished = column.finish({ shared: false });
  assert.ok(finished instanceof Uint8Array);
  assert.equal(finished.byteLength, 3000);
});

test('a column refuses what is not a 32-bit unsigned integer', () => {
  const column = new ColumnBuilder();
  for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) assert.throws(() => column.push(bad), RangeError);
});

test('a column finished shared is in shared memory, with the same values', () => {
  const column = new ColumnBuilder();
  for (let i = 0; i < 3000; i++) column.push(i);
  const finished = column.finish({ shared: true });
  assert.ok(finished.buffer instanceof SharedArrayBuffer);
  assert.deepEqual(
    [...finished],
    Array.from({ length: 3000 }, (_, i) => i),
  );
  assert.ok(!(new ColumnBuilder().finish({ shared: false }).buffer instanceof SharedArrayBuffer));
});
