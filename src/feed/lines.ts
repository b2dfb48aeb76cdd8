export type RawLine = { line: number; text: string } | { line: number; tooLong: number };

const NEWLINE = 0x0a;

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
  let line = 0;

  const finish = (): RawLine => {
    line += 1;
    if (overflow) return { line, tooLong: length };
    let buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
    if (buf.length > 0 && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
    return { line, text: buf.toString('utf8') };
  };
  const append = (piece: Buffer): void => {
    length += piece.length;
    if (overflow) return;
    if (length > maxLineBytes) {
      overflow = true;
      parts = [];
    } else if (piece.length > 0) {
      parts.push(piece);
    }
  };
  const reset = (): void => {
    parts = [];
    length = 0;
    overflow = false;
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
  if (length > 0 || overflow) yield finish();
}
