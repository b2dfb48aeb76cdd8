import { deflateRawSync, inflateRawSync } from 'node:zlib';

/*
 * How a past record is kept in ip_history.state. A day's changes mostly move a client count
 * or a risk, so a record that was replaced is kept as its difference from the record that
 * replaced it (DELTA: the bytes between their common beginning and common end), a few bytes;
 * reading it back starts from the newer record. A record that was removed, or that differs
 * too much, is kept whole, deflated with a dictionary of the Spur object's own words (FULL):
 * about 120 bytes of a 350-byte record. The first byte names the form; a new form gets a new
 * byte, and these two stay readable forever.
 */

const DELTA = 0x01;
const FULL = 0x02;

/** Past this many differing bytes a delta is compared with the whole record deflated. */
const SMALL_DELTA = 48;

// Keys and values of the feed's documented value sets (spur-feed.md), in the order a record
// has them: deflate finds them here instead of spelling them out in every record. Never edit
// it: the FULL rows already written were deflated with it.
const DICTIONARY = Buffer.from(
  '{"ip":"","network":"","as":{"number":,"organization":""},"organization":"","infrastructure":"DATACENTER",' +
    '"location":{"city":"","state":"","country":""},"risks":["TUNNEL","CALLBACK_PROXY","GEO_MISMATCH",' +
    '"LOGIN_BRUTEFORCE","WEB_SCRAPING","SPAM"],"services":["OPENVPN","IPSEC","WIREGUARD","PPTP","SSH"],' +
    '"tunnels":[{"operator":"","type":"VPN","anonymous":true,"entries":[""],"exits":[""]}],"client":{"behaviors":' +
    '["FILE_SHARING","TOR_PROXY_USER"],"types":["DESKTOP","MOBILE","HEADLESS","IOT","UNKNOWN"],"proxies":' +
    '["LUMINATI_PROXY","OXYLABS_PROXY"],"count":,"countries":,"spread":,"concentration":{"city":"","state":"",' +
    '"country":"","geohash":"","density":0.,"skew":}}}',
);

/** `past` (a record's JSON) as ip_history keeps it, given the JSON that replaced it (null: none did). */
export function encodeState(past: string, next: string | null): Buffer {
  const full = (): Buffer => Buffer.concat([Buffer.of(FULL), deflateRawSync(past, { dictionary: DICTIONARY })]);
  if (next === null) return full();
  const delta = deltaOf(Buffer.from(past), Buffer.from(next));
  if (delta.length - 1 <= SMALL_DELTA) return delta;
  const whole = full();
  return whole.length < delta.length ? whole : delta;
}

/** The JSON `encodeState(past, next)` kept, given the same `next`. */
export function decodeState(state: Buffer, next: string | null): string {
  if (state[0] === FULL) return inflateRawSync(state.subarray(1), { dictionary: DICTIONARY }).toString();
  if (state[0] !== DELTA) throw new Error(`unknown history state form ${state[0]}`);
  if (next === null) throw new Error('a history delta without the record it was taken against');
  const base = Buffer.from(next);
  const [head, afterHead] = readVarint(state, 1);
  const [tail, middle] = readVarint(state, afterHead);
  return Buffer.concat([base.subarray(0, head), state.subarray(middle), base.subarray(base.length - tail)]).toString();
}

/**
 * A state kept for a key whose next record was replaced again on the same feed day (a second
 * import of the day): `kept` was taken against the record `staged` holds, which is now gone,
 * so it is re-taken against `next`, the record that follows it now (null: none).
 */
export function restate(kept: Buffer, staged: Buffer | null, next: string | null): Buffer {
  if (kept[0] !== DELTA) return kept; // a whole record stands alone
  const between = staged === null ? null : decodeState(staged, next);
  return encodeState(decodeState(kept, between), next);
}

/** DELTA, the common head length, the common tail length, then `past`'s bytes between them. */
function deltaOf(past: Buffer, next: Buffer): Buffer {
  const most = Math.min(past.length, next.length);
  let head = 0;
  while (head < most && past[head] === next[head]) head++;
  let tail = 0;
  while (tail < most - head && past[past.length - 1 - tail] === next[next.length - 1 - tail]) tail++;
  return Buffer.concat([Buffer.of(DELTA), varint(head), varint(tail), past.subarray(head, past.length - tail)]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function readVarint(bytes: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let i = at;
  for (;;) {
    const byte = bytes[i++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, i];
    shift += 7;
  }
}
