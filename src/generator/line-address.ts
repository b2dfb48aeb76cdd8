import { maskBytes, type CanonicalIp } from '../feed/ip.ts';
import { DEFAULT_MAX_LINE_BYTES } from '../feed/lines.ts';
import type { parseRawLine } from '../feed/reader.ts';
import type { FeedRecord } from '../feed/record.ts';
import type { SpurRecord } from '../feed/schema.ts';
import { canonicalIpv6Bytes } from './ipv6.ts';

/** A line's address: a single IPv4 address (an `ip`, or a /32 `network`) as a number, anything else as a CanonicalIp. */
export type LineAddress = number | CanonicalIp;

const IP_KEY = Buffer.from('{"ip":"');
const NETWORK_KEY = Buffer.from('{"network":"');
const QUOTE = 0x22;
const COMMA = 0x2c;
const CLOSE = 0x7d;
const CR = 0x0d;
const SLASH = 0x2f;
const DOT = 0x2e;
const ZERO = 0x30;

/*
 * Lines as the generator writes them are read without JSON.parse: in a block of valid UTF-8,
 * a line that opens with its address key, whose value is already canonical, and closes its
 * object on its last byte is taken to be the record it looks like (validating tens of
 * millions of lines would cost more than all the rest of a next day). Other lines are
 * validated as the importer does it, so a hand-written feed is read exactly, unless a line
 * starts like a record and breaks later: that line counts as a record, which an import skips.
 */

/**
 * The address of the line `block[start, end)` (without its newline) read quickly, as above;
 * undefined when the line must be validated (validatedRecord) to tell.
 */
export function quickAddress(block: Buffer, start: number, end: number, utf8: boolean): LineAddress | undefined {
  const contentEnd = withoutCr(block, start, end);
  if (!utf8 || contentEnd - start > DEFAULT_MAX_LINE_BYTES || block[contentEnd - 1] !== CLOSE) return undefined;
  return keyAddress(block, start, contentEnd);
}

let validate: typeof parseRawLine | undefined;

/** Loads the importer's validation, whose modules take about a second to load: only lines quickAddress cannot read need it. */
export async function loadValidator(): Promise<void> {
  validate ??= (await import('../feed/reader.ts')).parseRawLine;
}

/** The line validated in full, as the importer reads it (after loadValidator); undefined when it is no record. */
export function validatedRecord(block: Buffer, start: number, end: number, line: number, unterminated: boolean): FeedRecord | undefined {
  if (validate === undefined) throw new Error('validatedRecord before loadValidator');
  const contentEnd = withoutCr(block, start, end);
  if (contentEnd - start > DEFAULT_MAX_LINE_BYTES) return undefined;
  const bytes = block.subarray(start, contentEnd);
  const parsed = validate(unterminated ? { line, bytes, unterminated } : { line, bytes });
  return parsed?.ok ? parsed.record : undefined;
}

/** A record's address as quickAddress gives it. */
export function lineAddress({ address }: FeedRecord): LineAddress {
  return address.family === 4 && address.prefixLen === 128 ? address.bytes.readUInt32BE(12) : address;
}

/** Where the line ends without the CR of a CRLF line end. */
function withoutCr(block: Buffer, start: number, end: number): number {
  return end > start && block[end - 1] === CR ? end - 1 : end;
}

/** The address of a line opening `{"ip":"ADDRESS",` or `{"network":"NETWORK",` in canonical form. */
function keyAddress(block: Buffer, start: number, end: number): LineAddress | undefined {
  const network = startsWith(block, start, NETWORK_KEY);
  if (!network && !startsWith(block, start, IP_KEY)) return undefined;
  const from = start + (network ? NETWORK_KEY.length : IP_KEY.length);
  const quote = block.indexOf(QUOTE, from);
  if (quote < 0 || quote >= end - 1 || (block[quote + 1] !== COMMA && quote + 1 !== end - 1)) return undefined;
  if (!network) {
    const value = ipv4Value(block, from, quote);
    if (value >= 0) return value;
    const text = block.toString('latin1', from, quote);
    const bytes = canonicalIpv6Bytes(text);
    return bytes && { bytes, prefixLen: 128, text, family: 6 };
  }
  const slash = block.indexOf(SLASH, from);
  if (slash < 0 || slash > quote) return undefined;
  const length = decimal(block, slash + 1, quote);
  const value = ipv4Value(block, from, slash);
  let address: CanonicalIp | undefined;
  if (value >= 0 && length === 32) return value;
  if (value >= 0 && length < 32) {
    const bytes = Buffer.alloc(16);
    bytes.writeUInt16BE(0xffff, 10);
    bytes.writeUInt32BE(value, 12);
    address = { bytes, prefixLen: 96 + length, text: block.toString('latin1', from, quote), family: 4 };
  } else if (value < 0 && length <= 128) {
    const bytes = canonicalIpv6Bytes(block.toString('latin1', from, slash));
    address = bytes && { bytes, prefixLen: length, text: block.toString('latin1', from, quote), family: 6 };
  }
  // A network is written by its first address: "10.0.0.1/24" is no canonical spelling.
  return address && maskBytes(address.bytes, address.prefixLen).equals(address.bytes) ? address : undefined;
}

/** The dotted quad in `bytes[from, to)` as a number, when it is canonical (no leading zeros); -1 otherwise. */
function ipv4Value(bytes: Buffer, from: number, to: number): number {
  let value = 0;
  let dots = 0;
  for (let i = from; i <= to; i++) {
    if (i < to && bytes[i] !== DOT) continue;
    const octet = decimal(bytes, from, i);
    if (octet > 255) return -1;
    value = value * 256 + octet;
    if (i < to && ++dots > 3) return -1;
    from = i + 1;
  }
  return dots === 3 ? value : -1;
}

/** The decimal number in `bytes[from, to)` in canonical form (no sign, no leading zeros); Infinity otherwise. */
function decimal(bytes: Buffer, from: number, to: number): number {
  if (to <= from || to - from > 3 || (bytes[from] === ZERO && to - from > 1)) return Infinity;
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = bytes[i]! - ZERO;
    if (digit < 0 || digit > 9) return Infinity;
    value = value * 10 + digit;
  }
  return value;
}

function startsWith(block: Buffer, start: number, prefix: Buffer): boolean {
  for (let i = 0; i < prefix.length; i++) if (block[start + i] !== prefix[i]) return false;
  return true;
}

/** A record line of a feed indexed by previous.ts, parsed. */
export interface ParsedRecord {
  /** The record with its address in canonical form. */
  context: SpurRecord;
  address: LineAddress;
}

/**
 * A line the first pass (indexPreviousFeed) took for a record, parsed: with JSON.parse when
 * its address key can be read quickly (the address is canonical already; the line is valid
 * UTF-8, being a record), else as the importer parses it (the first pass, which validated
 * it, loaded the validator).
 */
export function parseRecord(from: string, bytes: Buffer, start: number, end: number, line: number, unterminated: boolean): ParsedRecord {
  const address = quickAddress(bytes, start, end, true);
  if (address === undefined) {
    const record = validatedRecord(bytes, start, end, line, unterminated)!; // a record to the first pass
    return { context: record.context, address: lineAddress(record) };
  }
  try {
    return { context: JSON.parse(bytes.toString('utf8', start, end)) as SpurRecord, address };
  } catch {
    throw new Error(`feed ${from} line ${line} starts like a record but is none: fix or drop the line`);
  }
}
