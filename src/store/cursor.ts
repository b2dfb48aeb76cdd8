import { IpoidError } from '../errors.ts';

/**
 * Keyset cursors for list queries. Results are ordered by (ip, prefix_len, feed_id), the
 * stored key, so a cursor is the last key of a page: each record is visited once even
 * while an import changes other rows. Encoded opaquely so clients don't build their own.
 */
export interface CursorKey {
  ip: Buffer;
  prefixLen: number;
  feedId: number;
}

export class InvalidCursorError extends IpoidError {
  constructor() {
    super('INVALID_CURSOR', 'invalid cursor: pass back the "next" value of a previous page unchanged');
  }
}

const CURSOR_BYTES = 18;

export function encodeCursor(key: CursorKey): string {
  const buf = Buffer.alloc(CURSOR_BYTES);
  key.ip.copy(buf, 0, 0, 16);
  buf[16] = key.prefixLen;
  buf[17] = key.feedId;
  return buf.toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey {
  const buf = Buffer.from(cursor, 'base64url');
  if (buf.length !== CURSOR_BYTES || buf.toString('base64url') !== cursor) throw new InvalidCursorError();
  return { ip: buf.subarray(0, 16), prefixLen: buf[16]!, feedId: buf[17]! };
}
