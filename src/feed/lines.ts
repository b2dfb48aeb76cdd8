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
 * Splits bytes into lines, a chunk at a time. Unlike node:readline this bounds the memory a
 * single line can take: a line longer than `maxLineBytes` is reported as too long and its
 * bytes are dropped as they arrive instead of being buffered.
 */
export class LineSplitter {
  readonly #maxLineBytes: number;
  #parts: Buffer[] = [];
  #length = 0;
  #overflow = false;
  #lastByte: number | undefined;
  #line = 0;

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** The lines that end in `chunk`; its bytes after the last newline wait for the next chunk. */
  *lines(chunk: Buffer): Generator<RawLine> {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(NEWLINE, start)) !== -1) {
      this.#append(chunk.subarray(start, nl));
      yield this.#finish();
      start = nl + 1;
    }
    // Copy the tail: keeping a view would pin the whole chunk until the line ends.
    if (start < chunk.length) this.#append(Buffer.from(chunk.subarray(start)));
  }

  /** The last line, when the input ended inside it (without a newline). */
  end(): RawLine | undefined {
    return this.#length > 0 || this.#overflow ? { ...this.#finish(), unterminated: true } : undefined;
  }

  // A CRLF line end is not part of the line: neither kept nor counted against the limit.
  #finish(): RawLine {
    this.#line += 1;
    const line = this.#line;
    const lineLength = this.#lastByte === CARRIAGE_RETURN ? this.#length - 1 : this.#length;
    const parts = this.#parts;
    const raw: RawLine =
      this.#overflow || lineLength > this.#maxLineBytes
        ? { line, tooLong: lineLength }
        : { line, bytes: (parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#length)).subarray(0, lineLength) };
    this.#parts = [];
    this.#length = 0;
    this.#overflow = false;
    this.#lastByte = undefined;
    return raw;
  }

  #append(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#length += piece.length;
    this.#lastByte = piece[piece.length - 1];
    if (this.#overflow) return;
    // One byte of slack: the line's last byte may be the CR of its line end.
    if (this.#length > this.#maxLineBytes + 1) {
      this.#overflow = true;
      this.#parts = [];
    } else {
      this.#parts.push(piece);
    }
  }
}

/**
 * Splits a byte stream into lines (LineSplitter), pulling chunks as it goes, so the source is
 * only read as fast as the consumer handles lines.
 */
export async function* splitLines(input: AsyncIterable<Buffer>, maxLineBytes: number): AsyncGenerator<RawLine> {
  const splitter = new LineSplitter(maxLineBytes);
  for await (const chunk of input) yield* splitter.lines(chunk);
  const last = splitter.end();
  if (last) yield last;
}
