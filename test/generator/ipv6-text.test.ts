import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { addressText, parseIp } from '../../src/feed/ip.ts';
import { canonicalIpv6Bytes, ipv6Text } from '../../src/generator/ipv6.ts';

// Zero groups are what canonical text is about ("::", which run): draw many of them.
const groups = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
const toBytes = (words: number[]): Buffer => {
  const bytes = Buffer.alloc(16);
  words.forEach((word, i) => bytes.writeUInt16BE(word, 2 * i));
  return bytes;
};

test('the generator writes IPv6 addresses as feed/ip.ts does (RFC 5952)', () => {
  fc.assert(
    fc.property(groups, (words) => {
      const bytes = toBytes(words);
      assert.equal(ipv6Text(bytes), addressText(bytes, 6));
    }),
    { numRuns: 5000 },
  );
});

test('canonicalIpv6Bytes reads exactly the canonical spellings, and never an IPv4-mapped one', () => {
  fc.assert(
    fc.property(groups, (words) => {
      const bytes = toBytes(words);
      const text = addressText(bytes, 6);
      const mapped = parseIp(text).family === 4;
      assert.deepEqual(canonicalIpv6Bytes(text), mapped ? undefined : bytes);
    }),
    { numRuns: 5000 },
  );
  for (const spelling of [
    '2001:DB8::1',
    '2001:db8:0::1',
    '2001:0db8::1',
    '2001:db8::0:1',
    '::ffff:1.2.3.4',
    '::ffff:102:304',
    '1::1::1',
    '1:2:3:4:5:6:7',
  ]) {
    assert.equal(canonicalIpv6Bytes(spelling), undefined, spelling);
  }
  assert.deepEqual(canonicalIpv6Bytes('2001:db8::1'), parseIp('2001:db8::1').bytes);
  assert.deepEqual(canonicalIpv6Bytes('::'), Buffer.alloc(16));
});
