import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { feedBytes } from './bytes.ts';
import { splitLines } from './lines.ts';
import { parseFeedLine, type ParsedLine } from './record.ts';

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface ReadFeedOptions {
  /** Lines longer than this are skipped without being buffered. */
  maxLineBytes?: number;
}

const BYTE_ORDER_MARK = '\uFEFF';

/** Opens a feed file (gzip or plain JSON lines) as a byte stream. */
export function openFeedFile(path: string): Readable {
  return createReadStream(path, { highWaterMark: 256 * 1024 });
}

/**
 * Streams a feed line by line and validates each line. Bad lines come out as skips with
 * their line number and reason; blank lines are ignored. Backpressure: the next chunk is
 * read only when the consumer asks for more lines.
 */
export async function* readFeed(input: Readable | string, options: ReadFeedOptions = {}): AsyncGenerator<ParsedLine> {
  const stream = typeof input === 'string' ? openFeedFile(input) : input;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  try {
    for await (const raw of splitLines(feedBytes(stream), maxLineBytes)) {
      const skip = (reason: string): ParsedLine => ({ ok: false, skip: { line: raw.line, reason } });
      if ('tooLong' in raw) {
        yield skip(`line longer than ${maxLineBytes} bytes (${raw.tooLong})`);
        continue;
      }
      // Decoding would turn bad bytes into U+FFFD: the record stored would not be the line.
      if (!isUtf8(raw.bytes)) {
        yield skip('not valid UTF-8');
        continue;
      }
      let text = raw.bytes.toString('utf8');
      // An editor's byte order mark opens the file, not its first record.
      if (raw.line === 1 && text.startsWith(BYTE_ORDER_MARK)) text = text.slice(BYTE_ORDER_MARK.length);
      if (text.trim() !== '') yield parseFeedLine(text, raw.line);
    }
  } finally {
    stream.destroy();
  }
}
