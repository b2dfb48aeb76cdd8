import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidIpError, parseIp, parseIpOrNetwork, parseNetwork, parseRequestedIp } from '../../src/feed/ip.ts';

test('IPv4 spellings canonicalise to the dotted quad, decimal even with leading zeros', () => {
  for (const [input, text] of [
    ['1.1.1.1', '1.1.1.1'],
    ['001.001.001.001', '1.1.1.1'],
    ['010.0.0.1', '10.0.0.1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:102:304', '1.2.3.4'],
  ]) {
    const ip = parseIp(input!);
    assert.equal(ip.text, text, input);
    assert.equal(ip.family, 4);
    assert.equal(ip.prefixLen, 128);
    assert.equal(ip.bytes.toString('hex'), `00000000000000000000ffff${Buffer.from(text!.split('.').map(Number)).toString('hex')}`);
  }
});

test('IPv6 spellings canonicalise to RFC 5952', () => {
  for (const input of [
    '2001:db8::8a2e:370:7334',
    '2001:DB8::8A2E:370:7334',
    '2001:0db8:0000:0000:0000:8a2e:0370:7334',
    '2001:db8:0:0:0:8a2e:370:7334',
  ]) {
    const ip = parseIp(input);
    assert.equal(ip.text, '2001:db8::8a2e:370:7334', input);
    assert.equal(ip.family, 6);
    assert.equal(ip.bytes.toString('hex'), '20010db80000000000008a2e03707334');
  }
  assert.equal(parseIp('2001:db8:0:1:0:0:0:1').text, '2001:db8:0:1::1');
  assert.equal(parseIp('::').text, '::');
});

test('anything else is rejected with the reason', () => {
  for (const input of [
    '',
    '999.1.1.1',
    '1.2.3',
    '1',
    '0x1.1.1.1',
    '1.2.3.4.5',
    'fe80::1%eth0',
    '[::1]',
    '2001:db8::1::2',
    'abc',
    '1.1.1.1/24',
    ' ',
    '12345::',
  ]) {
    assert.throws(() => parseIp(input), InvalidIpError, JSON.stringify(input));
  }
  assert.throws(() => parseIp('999.1.1.1'), /not an IPv4 or IPv6 address: "999\.1\.1\.1"/);
  for (const input of [' 203.0.113.7', '203.0.113.7 ', '\t2001:db8::1', '2001:db8::1\n']) {
    assert.throws(
      () => parseIp(input),
      /^InvalidIpError: not an IPv4 or IPv6 address: ".*" \(leading or trailing whitespace\)$/,
      JSON.stringify(input),
    );
  }
  assert.throws(() => parseNetwork(' 203.0.113.0/24'), /not a CIDR network: " 203\.0\.113\.0\/24" \(leading or trailing whitespace\)/);
  assert.throws(() => parseNetwork('203.0.113.0 /24'), /leading or trailing whitespace/);
  assert.throws(() => parseNetwork('203.0.113.0/ 24'), /invalid prefix length/);
});

test('networks: host bits cleared, lengths checked, IPv4 lengths family-relative', () => {
  const v6 = parseNetwork('2001:db8:aaaa:1::5/64');
  assert.equal(v6.text, '2001:db8:aaaa:1::/64');
  assert.equal(v6.prefixLen, 64);
  const v4 = parseNetwork('203.0.113.77/24');
  assert.equal(v4.text, '203.0.113.0/24');
  assert.equal(v4.prefixLen, 96 + 24);
  assert.throws(() => parseNetwork('203.0.113.0/33'), /invalid prefix length/);
  assert.throws(() => parseNetwork('2001:db8::/129'), /invalid prefix length/);
  assert.throws(() => parseNetwork('2001:db8::/x'), /invalid prefix length/);
  assert.throws(() => parseNetwork('2001:db8::'), /no "\/len"/);
  assert.equal(parseIpOrNetwork('203.0.113.7').text, '203.0.113.7');
  assert.equal(parseIpOrNetwork('203.0.113.7/32').prefixLen, 128);
});

// [spelling, IPUtils::prettifyIP of it, canonical address]: prettifyIP's outputs as MediaWiki's
// own code gives them (a dotted tail written as two hex words first, as the client never sends one).
const KEYS: [spelling: string, key: string, address: string][] = [
  ['217.198.37.130', '217.198.37.130', '217.198.37.130'],
  ['217.198.037.130', '217.198.37.130', '217.198.37.130'],
  ['010.0.0.1', '10.0.0.1', '10.0.0.1'],
  ['::FFFF:d9c6:2582', '::ffff:d9c6:2582', '217.198.37.130'],
  ['::ffff:D9C6:2582', '::ffff:d9c6:2582', '217.198.37.130'],
  ['0:0:0:0:0:FFFF:D9C6:2582', '::ffff:d9c6:2582', '217.198.37.130'],
  ['0000:0000:0000:0000:0000:ffff:d9c6:2582', '::ffff:d9c6:2582', '217.198.37.130'],
  ['::ffff:217.198.37.130', '::ffff:d9c6:2582', '217.198.37.130'],
  ['::FFFF:217.198.037.130', '::ffff:d9c6:2582', '217.198.37.130'],
  ['::ffff:1.2.3.4', '::ffff:102:304', '1.2.3.4'],
  // IPv4-compatible: the IPv6 address ::102:304, not 1.2.3.4.
  ['::1.2.3.4', '::102:304', '::102:304'],
  ['::102:304', '::102:304', '::102:304'],
  ['0:0:0:0:0:0:102:0304', '::102:304', '::102:304'],
  ['0:0:0:0:0:0:1.2.3.4', '::102:304', '::102:304'],
  ['2001:0db8:0000:0000:0000:8a2e:0370:7334', '2001:db8::8a2e:370:7334', '2001:db8::8a2e:370:7334'],
  ['2001:DB8::8A2E:370:7334', '2001:db8::8a2e:370:7334', '2001:db8::8a2e:370:7334'],
  ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
  ['2001:db8:0:0:1::1', '2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
  // Ties: the run in the middle wins over an equal one at an end (prettifyIP counts the colons).
  ['0:0:1:0:0:1:1:1', '0:0:1::1:1:1', '::1:0:0:1:1:1'],
  ['::1:0:0:1:1:1', '0:0:1::1:1:1', '::1:0:0:1:1:1'],
  ['0:0:0:1:0:0:0:1', '0:0:0:1::1', '::1:0:0:0:1'],
  ['1:0:0:0:1:0:0:0', '1::1:0:0:0', '1::1:0:0:0'],
  ['1:0:0:1:1:1:0:0', '1::1:1:1:0:0', '1::1:1:1:0:0'],
  ['0:0:1:1:1:1:0:0', '::1:1:1:1:0:0', '::1:1:1:1:0:0'],
  ['1:0:0:1:0:0:0:0', '1:0:0:1::', '1:0:0:1::'],
  // No run of two: nothing compressed.
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
  ['0:1:0:1:0:1:0:1', '0:1:0:1:0:1:0:1', '0:1:0:1:0:1:0:1'],
  ['::', '::', '::'],
  ['0:0:0:0:0:0:0:1', '::1', '::1'],
  ['FE80:0000:0000:0000:0000:0000:0000:0001', 'fe80::1', 'fe80::1'],
  ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
];

test("a requested spelling keys as MediaWiki's IPUtils::prettifyIP gives it; the address stays canonical", () => {
  for (const [spelling, key, address] of KEYS) {
    const requested = parseRequestedIp(spelling);
    assert.equal(requested.key, key, spelling);
    assert.equal(requested.address.text, address, spelling);
    assert.deepEqual(requested.address, parseIp(address), spelling);
  }
});

test('a dotted tail is two hex words: "::1.2.3.4" is the IPv6 address ::102:304, "::ffff:1.2.3.4" is 1.2.3.4', () => {
  assert.equal(parseIp('::1.2.3.4').family, 6);
  assert.equal(parseIp('::1.2.3.4').bytes.toString('hex'), '00000000000000000000000001020304');
  assert.equal(parseIp('::ffff:1.2.3.4').family, 4);
  for (const input of [
    '::1.2.3.256',
    '::1.2.3',
    '::ffff:1.2.3.4.5',
    '1.2.3.4::',
    '::1.2.3.4:5',
    '::1.2.3.4/8',
    ':1.2.3.4',
    '::ffff:0x1.2.3.4',
  ]) {
    assert.throws(() => parseIp(input), InvalidIpError, input);
  }
});
