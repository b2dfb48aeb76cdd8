/**
 * One line's bytes, without its line end (LF or CRLF); or, past the limit, only its length.
 * `unterminated`: the input ended inside this line (it is the last, without a newline).
 */
export type RawLine = ({ bytes: Buffer } | { tooLong: number }) & { line: number; unterminated?: true };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Lines longer than this are skipped, unless a reader sets its own limit: records are a few hundred bytes. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/**
 * Splits a byte stream into lines, pulling chunks as it goes (so the source is only read as
 * fast as the consumer handles lines). Unlike node:readline this bounds the memory a single
 * line can take: a line longer than `maxLineBytes` is reported as too long and its bytes are
 * dropped as they arrive instead of being buffered.
 */
export async function* splitLines(input: AsyncIterable<Buffer>, maxLineBytes: number): AsyncGenerator<RawLine> {
  let parts: Buffer[] = [];
  let length = 0;
  let overflow = false;
  let lastByte: number | undefined;
  let line = 0;

  // A CRLF line end is not part of the line: neither kept nor counted against the limit.
  const finish = (): RawLine => {
    line += 1;
    const lineLength = lastByte === CARRIAGE_RETURN ? length - 1 : length;
    if (overflow || lineLength > maxLineBytes) return { line, tooLong: lineLength };
    const raw = parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
    return { line, bytes: raw.subarray(0, lineLength) };
  };
  const unterminated = (raw: RawLine): RawLine => ({ ...raw, unterminated: true });
  const append = (piece: Buffer): void => {
    if (piece.length === 0) return;
    length += piece.length;
    lastByte = piece[piece.length - 1];
    if (overflow) return;
    // One byte of slack: the line's last byte may be the CR of its line end.
    if (length > maxLineBytes + 1) {
      overflow = true;
      parts = [];
    } else {
      parts.push(piece);
    }
  };
  const reset = (): void => {
    parts = [];
    length = 0;
    overflow = false;
    lastByte = undefined;
  };

  for await (const chunk of input) {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(NEWLINE, start)) !== -1) {
      append(chunk.subarray(start, nl));
      yield finish();
      reset();
      start = nl + 1;
    }
    // Copy the tail: keeping a view would pin the whole chunk until the line ends.
    if (start < chunk.length) append(Buffer.from(chunk.subarray(start)));
  }
  if (length > 0 || overflow) yield unterminated(finish());
}
