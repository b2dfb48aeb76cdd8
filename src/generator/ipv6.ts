import { isIpv4Mapped } from '../feed/ip.ts';

/*
 * IPv6 text without ipaddr.js, which takes microseconds an address: a tenth of a feed's
 * records are IPv6, and a feed has millions. The text is the RFC 5952 form feed/ip.ts gives.
 */

/**
 * RFC 5952 text of 16 address bytes: eight lower-case hex groups without leading zeros, the
 * leftmost longest run of two or more zero groups written "::".
 */
export function ipv6Text(bytes: Uint8Array): string {
  let runStart = -1;
  let runLength = 1; // a single zero group is written "0", never "::"
  for (let i = 0, start = -1; i <= 8; i++) {
    if (i < 8 && group(bytes, i) === 0) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start > runLength) {
        runStart = start;
        runLength = i - start;
      }
      start = -1;
    }
  }
  if (runStart < 0) return groups(bytes, 0, 8);
  return `${groups(bytes, 0, runStart)}::${groups(bytes, runStart + runLength, 8)}`;
}

/**
 * The 16 bytes of `text` when it is the RFC 5952 text of an IPv6 address that is not
 * IPv4-mapped (which feed/ip.ts writes as a dotted quad); undefined for any other text.
 */
export function canonicalIpv6Bytes(text: string): Buffer | undefined {
  const bytes = Buffer.alloc(16);
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 1 || halves[1] === '' ? [] : halves[1]!.split(':');
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 6) return undefined;
  const words = [...head, ...tail];
  for (let i = 0; i < words.length; i++) {
    if (!HEX_GROUP.test(words[i]!)) return undefined;
    bytes.writeUInt16BE(Number.parseInt(words[i]!, 16), 2 * (i < head.length ? i : 8 - words.length + i));
  }
  // Any other spelling of these bytes (leading zeros, a "::" elsewhere) is not the canonical one.
  return !isIpv4Mapped(bytes) && ipv6Text(bytes) === text ? bytes : undefined;
}

const HEX_GROUP = /^[0-9a-f]{1,4}$/;

function group(bytes: Uint8Array, i: number): number {
  return (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
}

function groups(bytes: Uint8Array, from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += `${i > from ? ':' : ''}${group(bytes, i).toString(16)}`;
  return text;
}
