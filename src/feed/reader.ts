import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { FeedReadError, feedBytes, openFeedFile } from './bytes.ts';
import { DEFAULT_MAX_LINE_BYTES, splitLines, type RawLine } from './lines.ts';
import { parseFeedLine, skipLine, type ParsedLine, type SkippedLine } from './record.ts';

export { openFeedFile } from './bytes.ts';
export { DEFAULT_MAX_LINE_BYTES } from './lines.ts';

export interface ReadFeedOptions {
  /** Lines longer than this are skipped without being buffered. */
  maxLineBytes?: number;
}

const BYTE_ORDER_MARK = '\uFEFF';

/**
 * A last line without its newline that is no record is where the file was cut (a feed whose
 * text stops early inside a valid gzip stream): the feed is unreadable, not one line shorter.
 * A last line that parses is whole: many tools write no final newline. An over-long one was
 * not read, so it cannot tell; it is skipped as any other.
 */
function truncated({ line, reason }: SkippedLine): FeedReadError {
  return new FeedReadError(`cannot read feed: it looks truncated: its last line (${line}) has no newline and is no record (${reason})`);
}

/** The feed's lines, raw; the stream is released when the caller stops. */
export async function* readRawLines(input: Readable | string, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<RawLine> {
  const stream = typeof input === 'string' ? openFeedFile(input) : input;
  try {
    yield* splitLines(feedBytes(stream), maxLineBytes);
  } finally {
    stream.destroy();
  }
}

/**
 * Validates one raw line: a record, or a skip with its reason; undefined for a blank line.
 * A cut last line is a FeedReadError. `parse` reads the line's text (a realtime file's partial records have their own).
 */
export function parseRawLine(
  raw: RawLine,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  parse: (text: string, line: number) => ParsedLine = parseFeedLine,
): ParsedLine | undefined {
  if ('tooLong' in raw) return skipLine(raw.line, `line longer than ${maxLineBytes} bytes (${raw.tooLong})`);
  // Decoding would turn bad bytes into U+FFFD: the record stored would not be the line.
  let parsed: ParsedLine;
  if (!isUtf8(raw.bytes)) {
    parsed = skipLine(raw.line, 'not valid UTF-8');
  } else {
    let text = raw.bytes.toString('utf8');
    // An editor's byte order mark opens the file, not its first record.
    if (raw.line === 1 && text.startsWith(BYTE_ORDER_MARK)) text = text.slice(BYTE_ORDER_MARK.length);
    if (text.trim() === '') return undefined;
    parsed = parse(text, raw.line);
  }
  if (raw.unterminated && !parsed.ok) throw truncated(parsed.skip);
  return parsed;
}

/**
 * Streams a feed line by line and validates each line. Bad lines come out as skips with
 * their line number and reason; blank lines are ignored; a cut last line is a FeedReadError.
 * Backpressure: the next chunk is read only when the consumer asks for more lines.
 */
export async function* readFeed(input: Readable | string, options: ReadFeedOptions = {}): AsyncGenerator<ParsedLine> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  for await (const raw of readRawLines(input, maxLineBytes)) {
    const parsed = parseRawLine(raw, maxLineBytes);
    if (parsed) yield parsed;
  }
}
