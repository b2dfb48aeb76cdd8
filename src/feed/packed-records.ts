import type { Label, LoadRecord, SkippedLine } from './record.ts';

/**
 * Parsed records, packed into one buffer to cross from the parse worker to the import. The
 * structured clone of an object per record costs about 13 µs a record to receive, six times
 * what JSON.parse of the line does; reading this buffer back costs well under one.
 *
 * A record: line (u32), label count (u16), prefix length (u8), family (u8), which summary
 * fields are set (u8, a bit each), address (16 bytes), hash (16 bytes), its labels' numbers
 * (u32 each), then its address text and JSON, and its set summary fields (strings: u32 byte
 * length and UTF-8; numbers: f64). Labels are numbered in the order the packer first saw
 * them; each batch carries the labels it numbered first.
 */
export interface PackedRecords {
  bytes: ArrayBuffer;
  count: number;
  /** Labels first numbered in this batch, in the order of their numbers. */
  labels: Label[];
  /** Lines skipped since the previous batch, in line order. */
  skips: SkippedLine[];
}

const ADDRESS_BYTES = 16;
const HASH_BYTES = 16;
/** At most this many bytes of UTF-8 a JavaScript string of n code units can take. */
const UTF8_PER_UNIT = 3;
const HEADER_BYTES = 9;
const FIXED_BYTES = HEADER_BYTES + ADDRESS_BYTES + HASH_BYTES;

const ORGANIZATION = 1;
const AS_NUMBER = 2;
const AS_ORGANIZATION = 4;
const CITY = 8;
const CLIENT_COUNT = 16;

export class RecordPacker {
  #buffer = Buffer.allocUnsafe(1 << 20);
  #at = 0;
  #count = 0;
  #skips: SkippedLine[] = [];
  /** Label numbers by kind, then value: no key string built for each of a record's labels. */
  readonly #labelNumbers = new Map<string, Map<string, number>>();
  #labelCount = 0;
  #newLabels: Label[] = [];

  get count(): number {
    return this.#count;
  }

  add(record: LoadRecord): void {
    const { address, summary, labels } = record;
    // The fixed fields and the label numbers are written through `buffer` below; strings and numbers reserve their own room.
    this.#reserve(FIXED_BYTES + 4 * labels.length);
    const set =
      (summary.organization === null ? 0 : ORGANIZATION) |
      (summary.asNumber === null ? 0 : AS_NUMBER) |
      (summary.asOrganization === null ? 0 : AS_ORGANIZATION) |
      (summary.city === null ? 0 : CITY) |
      (summary.clientCount === null ? 0 : CLIENT_COUNT);
    const buffer = this.#buffer;
    // (The schema bounds a record to a few thousand labels: the u16 count holds them.)
    buffer.writeUInt32LE(record.line, this.#at);
    buffer.writeUInt16LE(labels.length, this.#at + 4);
    buffer[this.#at + 6] = address.prefixLen;
    buffer[this.#at + 7] = address.family;
    buffer[this.#at + 8] = set;
    address.bytes.copy(buffer, this.#at + HEADER_BYTES);
    record.hash.copy(buffer, this.#at + HEADER_BYTES + ADDRESS_BYTES);
    this.#at += FIXED_BYTES;
    for (const label of labels) {
      buffer.writeUInt32LE(this.#labelNumber(label), this.#at);
      this.#at += 4;
    }
    this.#string(address.text);
    this.#string(record.json);
    if (summary.organization !== null) this.#string(summary.organization);
    if (summary.asNumber !== null) this.#number(summary.asNumber);
    if (summary.asOrganization !== null) this.#string(summary.asOrganization);
    if (summary.city !== null) this.#string(summary.city);
    if (summary.clientCount !== null) this.#number(summary.clientCount);
    this.#count += 1;
  }

  skip(skipped: SkippedLine): void {
    this.#skips.push(skipped);
  }

  /** The records and skips since the last take, as one transferable buffer; the packer starts a new one. */
  take(): PackedRecords {
    const { buffer, byteOffset } = this.#buffer;
    const packed = {
      bytes: buffer.slice(byteOffset, byteOffset + this.#at),
      count: this.#count,
      labels: this.#newLabels,
      skips: this.#skips,
    };
    this.#at = 0;
    this.#count = 0;
    this.#newLabels = [];
    this.#skips = [];
    return packed;
  }

  #labelNumber(label: Label): number {
    const [kind, value] = label;
    let ofKind = this.#labelNumbers.get(kind);
    if (ofKind === undefined) this.#labelNumbers.set(kind, (ofKind = new Map<string, number>()));
    let number = ofKind.get(value);
    if (number === undefined) {
      number = this.#labelCount++;
      ofKind.set(value, number);
      this.#newLabels.push(label);
    }
    return number;
  }

  #string(value: string): void {
    this.#reserve(4 + UTF8_PER_UNIT * value.length);
    const length = this.#buffer.write(value, this.#at + 4, 'utf8');
    this.#buffer.writeUInt32LE(length, this.#at);
    this.#at += 4 + length;
  }

  #number(value: number): void {
    this.#reserve(8);
    this.#buffer.writeDoubleLE(value, this.#at);
    this.#at += 8;
  }

  #reserve(bytes: number): void {
    if (this.#at + bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.#buffer.length, this.#at + bytes));
    this.#buffer.copy(grown, 0, 0, this.#at);
    this.#buffer = grown;
  }
}

/** Reads packed batches back, in the order they were taken (a batch's labels continue the numbering of the ones before). */
export class RecordUnpacker {
  readonly #labels: Label[] = [];

  unpack(packed: PackedRecords): LoadRecord[] {
    for (const label of packed.labels) this.#labels.push(label);
    const bytes = Buffer.from(packed.bytes);
    const records: LoadRecord[] = [];
    let at = 0;
    const string = (): string => {
      const length = bytes.readUInt32LE(at);
      at += 4 + length;
      return bytes.toString('utf8', at - length, at);
    };
    const number = (): number => {
      at += 8;
      return bytes.readDoubleLE(at - 8);
    };
    for (let i = 0; i < packed.count; i++) {
      const line = bytes.readUInt32LE(at);
      const labelCount = bytes.readUInt16LE(at + 4);
      const prefixLen = bytes[at + 6]!;
      const family = bytes[at + 7] as 4 | 6;
      const set = bytes[at + 8]!;
      const address = bytes.subarray(at + HEADER_BYTES, at + HEADER_BYTES + ADDRESS_BYTES);
      const hash = bytes.subarray(at + HEADER_BYTES + ADDRESS_BYTES, at + FIXED_BYTES);
      at += FIXED_BYTES;
      const labels: Label[] = [];
      for (let l = 0; l < labelCount; l++, at += 4) labels.push(this.#labels[bytes.readUInt32LE(at)]!);
      const text = string();
      const json = string();
      records.push({
        line,
        address: { bytes: address, prefixLen, text, family },
        json,
        hash,
        labels,
        summary: {
          organization: set & ORGANIZATION ? string() : null,
          asNumber: set & AS_NUMBER ? number() : null,
          asOrganization: set & AS_ORGANIZATION ? string() : null,
          city: set & CITY ? string() : null,
          clientCount: set & CLIENT_COUNT ? number() : null,
        },
      });
    }
    return records;
  }
}
