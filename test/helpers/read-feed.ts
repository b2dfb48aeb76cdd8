import { Readable } from 'node:stream';
import { readFeed } from '../../src/feed/reader.ts';
import type { ParsedLine } from '../../src/feed/record.ts';

/** Everything readFeed yields for a feed. */
export async function readAll(input: Readable | string, maxLineBytes?: number): Promise<ParsedLine[]> {
  const out: ParsedLine[] = [];
  for await (const parsed of readFeed(input, { maxLineBytes })) out.push(parsed);
  return out;
}

/** The keys (canonical address or network) of a feed's valid lines. */
export async function feedKeys(feed: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const line of readFeed(feed)) if (line.ok) keys.add(line.record.address.text);
  return keys;
}

/** The bytes as a stream of `size`-byte chunks, as a slow disk or network would hand them out. */
export const chunked = (buf: Buffer, size: number): Readable =>
  Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
  );
