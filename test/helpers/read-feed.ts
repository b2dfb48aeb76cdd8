import { Readable } from 'node:stream';
import { readFeed } from '../../src/feed/reader.ts';
import type { ParsedLine } from '../../src/feed/record.ts';

/** Everything readFeed yields for a feed. */
export async function readAll(input: Readable | string, maxLineBytes?: number): Promise<ParsedLine[]> {
  const out: ParsedLine[] = [];
  for await (const parsed of readFeed(input, { maxLineBytes })) out.push(parsed);
  return out;
}

/** The bytes as a stream of `size`-byte chunks, as a slow disk or network would hand them out. */
export const chunked = (buf: Buffer, size: number): Readable =>
  Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
  );
