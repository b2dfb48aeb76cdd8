import ipaddr from 'ipaddr.js';
import { IpoidError } from '../errors.ts';

/**
 * One address or network in IPoid's canonical form.
 * `bytes` is always 16 bytes: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), so one
 * column and one index order serve both families.
 */
export interface CanonicalIp {
  /** First address, 16 bytes. */
  bytes: Buffer;
  /** Prefix length in the 128-bit space: 128 for a single address, 96+n for an IPv4 /n. */
  prefixLen: number;
  /** RFC 5952 text for IPv6, dotted quad for IPv4; "addr/len" (family-relative len) for a network. */
  text: string;
  family: 4 | 6;
}

export const FULL_PREFIX = 128;
const IPV4_OFFSET = 96;

// Hex groups, "::" and an optional trailing dotted quad; no zone ids, no brackets.
const IPV6_CHARS = /^[0-9a-fA-F:.]+$/;

export class InvalidIpError extends IpoidError {
  constructor(
    message: string,
    /** Why, when the text alone does not show it (e.g. whitespace around an address). */
    readonly reason?: string,
  ) {
    super('INVALID_IP', reason ? `${message} (${reason})` : message);
  }
}

const WHITESPACE = 'leading or trailing whitespace';

/** Input is taken as it is, never trimmed: " 1.1.1.1" is a mistake to report, not an address. */
function refuseSurroundingWhitespace(text: string, what: string): void {
  if (/^\s|\s$/.test(text)) throw new InvalidIpError(`${what}: ${JSON.stringify(truncate(text))}`, WHITESPACE);
}

const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * The octets of a decimal dotted quad: four numbers up to 255 of one to three ASCII digits,
 * leading zeros allowed ("010.0.0.1" is 10.0.0.1, never octal). Read a character at a time,
 * not by a regular expression: every address a lookup is asked for comes through here.
 */
function parseIpv4(text: string): number[] | undefined {
  const octets: number[] = [];
  let octet = 0;
  let digits = 0;
  // The end of the text closes the last octet as a dot closes the others.
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : DOT;
    if (c >= ZERO && c <= NINE && digits < 3) {
      octet = octet * 10 + (c - ZERO);
      digits++;
    } else if (c === DOT && digits > 0 && octet <= 255 && octets.length < 4) {
      octets.push(octet);
      octet = 0;
      digits = 0;
    } else {
      return undefined;
    }
  }
  return octets.length === 4 ? octets : undefined;
}

function fromIpv4Octets(octets: number[], prefixLen = FULL_PREFIX): CanonicalIp {
  const bytes = Buffer.alloc(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(octets, 12);
  return { bytes, prefixLen, text: octets.join('.'), family: 4 };
}

function parseAddressBytes(text: string): CanonicalIp {
  refuseSurroundingWhitespace(text, 'not an IPv4 or IPv6 address');
  const v4 = parseIpv4(text);
  if (v4) return fromIpv4Octets(v4);
  const hex = text.includes(':') && IPV6_CHARS.test(text) ? withHexTail(text) : undefined;
  if (hex === undefined || !ipaddr.IPv6.isValid(hex)) {
    throw new InvalidIpError(`not an IPv4 or IPv6 address: ${JSON.stringify(truncate(text))}`);
  }
  const v6 = ipaddr.IPv6.parse(hex);
  if (v6.isIPv4MappedAddress()) return fromIpv4Octets(v6.toIPv4Address().octets);
  return { bytes: Buffer.from(v6.toByteArray()), prefixLen: FULL_PREFIX, text: v6.toRFC5952String(), family: 6 };
}

/**
 * An IPv6 spelling with its dotted IPv4 tail, if any, as two hex words; undefined when the tail
 * is not a dotted quad. ipaddr.js would read "::1.2.3.4" (IPv4-compatible, the IPv6 address
 * ::102:304) as the mapped ::ffff:1.2.3.4, so it is never given a dotted tail.
 */
function withHexTail(text: string): string | undefined {
  const colon = text.lastIndexOf(':');
  const tail = text.slice(colon + 1);
  if (!tail.includes('.')) return text;
  const octets = parseIpv4(tail);
  if (!octets) return undefined;
  const word = (high: number, low: number): string => ((high << 8) | low).toString(16);
  return `${text.slice(0, colon + 1)}${word(octets[0]!, octets[1]!)}:${word(octets[2]!, octets[3]!)}`;
}

/** Parses any valid spelling of one IPv4 or IPv6 address into canonical form. */
export function parseIp(text: string): CanonicalIp {
  return parseAddressBytes(text);
}

/** An address as a client spelled it: the address, and the key a client reads its answer under. */
export interface RequestedIp {
  address: CanonicalIp;
  /**
   * The spelling as MediaWiki's IPUtils::prettifyIP gives it, which the MediaWiki client keys
   * its answer by: the dotted quad of an IPv4 spelling, the prettified words of any IPv6 one
   * (an IPv4-mapped spelling keeps its IPv6 key, though it is the IPv4 address).
   */
  key: string;
}

export function parseRequestedIp(text: string): RequestedIp {
  const address = parseIp(text);
  // Only a dotted quad parses to an address without a colon in its spelling.
  return { address, key: text.includes(':') ? prettified(address.bytes) : address.text };
}

// A run of two or more zero words, with the colons around it.
const ZERO_RUN = /(?:^|:)0(?::0)+(?:$|:)/g;

/**
 * prettifyIP's text of 16 bytes: eight lower-case hex words without leading zeros, the first
 * longest match of ZERO_RUN replaced by "::". The match counts the colons, so a run in the
 * middle beats an equal run at either end ("0:0:1::1:1:1"), unlike RFC 5952.
 */
function prettified(bytes: Buffer): string {
  const words = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16)).join(':');
  let longest: RegExpExecArray | undefined;
  for (const run of words.matchAll(ZERO_RUN)) if (!longest || run[0].length > longest[0].length) longest = run;
  return longest ? `${words.slice(0, longest.index)}::${words.slice(longest.index + longest[0].length)}` : words;
}

/**
 * Parses a CIDR network. Host bits are cleared ("2001:db8::5/64" is 2001:db8::/64), since a
 * network is identified by its first address.
 */
export function parseNetwork(text: string): CanonicalIp {
  refuseSurroundingWhitespace(text, 'not a CIDR network');
  const slash = text.indexOf('/');
  if (slash < 0) throw new InvalidIpError(`not a CIDR network (no "/len"): ${JSON.stringify(truncate(text))}`);
  const addr = parseAddressBytes(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  const maxLen = addr.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > maxLen) {
    throw new InvalidIpError(`invalid prefix length in ${JSON.stringify(truncate(text))} (0..${maxLen})`);
  }
  const familyLen = Number(lenText);
  const prefixLen = addr.family === 4 ? familyLen + IPV4_OFFSET : familyLen;
  const bytes = maskBytes(addr.bytes, prefixLen);
  const base = addressText(bytes, addr.family);
  return { bytes, prefixLen, text: `${base}/${familyLen}`, family: addr.family };
}

/** Text of a 16-byte address in canonical form. */
export function addressText(bytes: Buffer, family: 4 | 6 = isIpv4Mapped(bytes) ? 4 : 6): string {
  if (family === 4) return Array.from(bytes.subarray(12)).join('.');
  return ipaddr.fromByteArray(Array.from(bytes)).toString();
}

/** Canonical text of a stored key: the address, or "addr/len" (family-relative len) for a network. */
export function keyText(bytes: Buffer, prefixLen: number): string {
  const family = prefixLen >= IPV4_OFFSET && isIpv4Mapped(bytes) ? 4 : 6;
  const text = addressText(bytes, family);
  if (prefixLen === FULL_PREFIX) return text;
  return `${text}/${family === 4 ? prefixLen - IPV4_OFFSET : prefixLen}`;
}

export function isIpv4Mapped(bytes: Buffer): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** First address of the network of `prefixLen` bits containing `bytes`. */
export function maskBytes(bytes: Buffer, prefixLen: number): Buffer {
  const out = Buffer.from(bytes);
  for (let bit = prefixLen; bit < 128; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

/** Last address of the network of `prefixLen` bits containing `bytes`. */
export function lastAddress(bytes: Buffer, prefixLen: number): Buffer {
  const out = Buffer.from(bytes);
  for (let bit = prefixLen; bit < 128; bit++) out[bit >> 3]! |= 0x80 >> (bit & 7);
  return out;
}

export function networkContains(start: Buffer, prefixLen: number, address: Buffer): boolean {
  return maskBytes(address, prefixLen).equals(start);
}

/** Accepts either a single address or a CIDR network (a single address is a /32 or /128). */
export function parseIpOrNetwork(text: string): CanonicalIp {
  return text.includes('/') ? parseNetwork(text) : parseIp(text);
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
