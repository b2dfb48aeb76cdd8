/** A growable byte buffer: the data section and its scratch space are built byte by byte, without an allocation per value. */
export class ByteWriter {
  #bytes: Buffer;
  length = 0;

  constructor(capacity = 4096) {
    this.#bytes = Buffer.alloc(capacity);
  }

  /** The bytes written so far (a view, valid until the next write). */
  get view(): Buffer {
    return this.#bytes.subarray(0, this.length);
  }

  byte(value: number): void {
    this.#reserve(1);
    this.#bytes[this.length++] = value;
  }

  /** `value` in `count` big-endian bytes (count ≤ 6, the most a JavaScript number holds exactly). */
  uintBE(value: number, count: number): void {
    this.#reserve(count);
    if (count > 0) this.#bytes.writeUIntBE(value, this.length, count);
    this.length += count;
  }

  doubleBE(value: number): void {
    this.#reserve(8);
    this.length = this.#bytes.writeDoubleBE(value, this.length);
  }

  utf8(text: string, byteLength: number): void {
    this.#reserve(byteLength);
    this.length += this.#bytes.write(text, this.length, 'utf8');
  }

  append(bytes: Buffer): void {
    this.#reserve(bytes.length);
    bytes.copy(this.#bytes, this.length);
    this.length += bytes.length;
  }

  /** Whether `bytes` were written at `offset`. */
  holdsAt(offset: number, bytes: Buffer): boolean {
    return offset + bytes.length <= this.length && this.#bytes.compare(bytes, 0, bytes.length, offset, offset + bytes.length) === 0;
  }

  #reserve(count: number): void {
    if (this.length + count <= this.#bytes.length) return;
    // Grows by half: doubling would leave up to half of a large data section unused.
    const grown = Buffer.alloc(Math.max(this.length + count, Math.ceil(this.#bytes.length * 1.5)));
    this.#bytes.copy(grown, 0, 0, this.length);
    this.#bytes = grown;
  }
}
