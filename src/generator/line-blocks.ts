import { feedBytes, openFeedFile } from '../feed/bytes.ts';
import { DEFAULT_MAX_LINE_BYTES } from '../feed/lines.ts';

const NEWLINE = 0x0a;
const EMPTY_LINE = Buffer.from('\n');

/** Whole lines of a feed, each with its newline. */
export interface LineBlock {
  bytes: Buffer;
  /** The block's last line is the file's last, which had no newline (one was added). */
  cut: boolean;
}

/**
 * A feed's bytes (gunzipped as the importer reads them) in blocks of whole lines. Blocks are
 * mostly the decompressed chunks themselves, so a line costs no allocation. A line longer
 * than the importer's limit (which it skips) comes as an empty line, and is never buffered whole.
 */
export async function* lineBlocks(path: string): AsyncGenerator<LineBlock> {
  let pending: Buffer[] = []; // the start of a line that spans chunks
  let pendingBytes = 0;
  for await (const chunk of feedBytes(openFeedFile(path))) {
    const first = chunk.indexOf(NEWLINE);
    if (first < 0) {
      pendingBytes += chunk.length;
      // One byte of slack: the line's last byte may be the CR of its line end.
      pending = pendingBytes > DEFAULT_MAX_LINE_BYTES + 1 ? [] : [...pending, chunk];
      continue;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (pendingBytes > 0) {
      const overLong = pendingBytes + first > DEFAULT_MAX_LINE_BYTES + 1;
      yield { bytes: overLong ? EMPTY_LINE : Buffer.concat([...pending, chunk.subarray(0, first + 1)]), cut: false };
      if (last > first) yield { bytes: chunk.subarray(first + 1, last + 1), cut: false };
    } else {
      yield { bytes: chunk.subarray(0, last + 1), cut: false };
    }
    pending = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : [];
    pendingBytes = chunk.length - last - 1;
  }
  if (pendingBytes > 0 && pendingBytes <= DEFAULT_MAX_LINE_BYTES + 1) yield { bytes: Buffer.concat([...pending, EMPTY_LINE]), cut: true };
}

/**
 * Calls `visit` with the bounds of each line of the block (`end` is its newline) and whether
 * it is the file's unterminated last line.
 */
export function eachLine({ bytes, cut }: LineBlock, visit: (start: number, end: number, unterminated: boolean) => void): void {
  for (let start = 0; start < bytes.length;) {
    const end = bytes.indexOf(NEWLINE, start);
    visit(start, end, cut && end === bytes.length - 1);
    start = end + 1;
  }
}
