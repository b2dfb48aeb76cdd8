import { deflateRawSync, inflateRawSync } from 'node:zlib';

/*
 * Which keys an import filed states for, per feed day (table ip_history_day): what the prune
 * deletes when that day leaves the window, without an index of ip_history by day (which cost
 * a third of the table). Keys are 16 address bytes and the prefix length, sorted, deflated:
 * neighbours share their first bytes, so a key takes a few bytes.
 */

export interface HistoryKey {
  ip: Buffer;
  prefix_len: number;
}

const KEY_BYTES = 17;

/** Keys per ip_history_day row: a row stays well under MariaDB's default 16 MiB packet. */
export const KEYS_PER_PART = 100_000;

export function encodeKeys(keys: readonly HistoryKey[]): Buffer {
  const raw = Buffer.alloc(keys.length * KEY_BYTES);
  keys.forEach((key, i) => {
    key.ip.copy(raw, i * KEY_BYTES);
    raw[i * KEY_BYTES + 16] = key.prefix_len;
  });
  return deflateRawSync(raw);
}

export function decodeKeys(blob: Buffer): HistoryKey[] {
  const raw = inflateRawSync(blob);
  const keys: HistoryKey[] = [];
  for (let at = 0; at < raw.length; at += KEY_BYTES) keys.push({ ip: raw.subarray(at, at + 16), prefix_len: raw[at + 16]! });
  return keys;
}
