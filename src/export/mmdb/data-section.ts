import { ByteWriter } from './byte-writer.ts';

/*
 * Values in the MaxMind DB data format (spec "Data Section Format", binary format 2.0): each
 * value starts with a control byte, its type in the top three bits (0: the next byte holds the
 * type less 7) and its payload size in the low five (29, 30, 31: the size continues in the
 * next 1, 2, 3 bytes). A pointer (type 1) stands for a value stored elsewhere in the section.
 */

type NumberType = 'uint16' | 'uint32' | 'uint64' | 'double';

/** A number with the format's type it is stored as: typed readers (Go, Java, C) decode by type, so a field keeps one. */
export class TypedNumber {
  constructor(
    readonly type: NumberType,
    readonly value: number,
  ) {}
}

export const uint16 = (value: number) => new TypedNumber('uint16', value);
export const uint32 = (value: number) => new TypedNumber('uint32', value);
/** Up to 2^48 - 1 (a build epoch in seconds; no IPoid value needs more). */
export const uint64 = (value: number) => new TypedNumber('uint64', value);
export const double = (value: number) => new TypedNumber('double', value);

export type DataValue = string | TypedNumber | readonly DataValue[] | DataMap;
/** A map keeps its keys' order, so the same fields always encode to the same bytes. */
export type DataMap = ReadonlyMap<string, DataValue>;

// `instanceof Map` alone would type a map's keys and values as any.
const isMap = (value: DataValue): value is DataMap => value instanceof Map;

const TYPE = { pointer: 1, utf8: 2, double: 3, uint16: 5, uint32: 6, map: 7, uint64: 9, array: 11 } as const;
const MAX_BYTES: Record<Exclude<NumberType, 'double'>, number> = { uint16: 2, uint32: 4, uint64: 6 };

/** The control byte (and extended type and size bytes) of a value of `type` with `size`. */
function writeHeader(out: ByteWriter, type: number, size: number): void {
  const typeBits = type > 7 ? 0 : type << 5;
  const [sizeBits, extraBytes, extra] =
    size < 29 ? [size, 0, 0] : size < 285 ? [29, 1, size - 29] : size < 65_821 ? [30, 2, size - 285] : [31, 3, size - 65_821];
  if (extra >= 2 ** 24) throw new RangeError(`a MaxMind DB value holds at most 16,843,036 bytes or entries, not ${size}`);
  out.byte(typeBits | sizeBits);
  if (type > 7) out.byte(type - 7);
  out.uintBE(extra, extraBytes);
}

function writeNumber(out: ByteWriter, { type, value }: TypedNumber): void {
  if (type === 'double') {
    writeHeader(out, TYPE.double, 8);
    out.doubleBE(value);
    return;
  }
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * MAX_BYTES[type])) {
    throw new RangeError(`${value} is not a ${type}${type === 'uint64' ? ' below 2^48' : ''}`);
  }
  // Unsigned integers take as few bytes as their value needs (0 takes none).
  let size = 0;
  while (size < 6 && value >= 2 ** (8 * size)) size++;
  writeHeader(out, TYPE[type], size);
  out.uintBE(value, size);
}

function writeString(out: ByteWriter, text: string): void {
  const length = Buffer.byteLength(text, 'utf8');
  writeHeader(out, TYPE.utf8, length);
  out.utf8(text, length);
}

/** A pointer to `offset` in the data section: 11, 19, 27 or 32 bits, the larger sizes biased past the smaller ones. */
function writePointer(out: ByteWriter, offset: number): void {
  const control = TYPE.pointer << 5;
  if (offset < 2048) {
    out.byte(control | (offset >> 8));
    out.byte(offset & 0xff);
  } else if (offset < 526_336) {
    const value = offset - 2048;
    out.byte(control | (1 << 3) | (value >> 16));
    out.uintBE(value & 0xffff, 2);
  } else if (offset < 134_744_064) {
    const value = offset - 526_336;
    out.byte(control | (2 << 3) | (value >>> 24));
    out.uintBE(value & 0xffffff, 3);
  } else {
    out.byte(control | (3 << 3));
    out.uintBE(offset, 4);
  }
}

/** `value` written whole, without pointers: the metadata section, and small values inside the data section. */
export function writeValue(out: ByteWriter, value: DataValue): void {
  if (typeof value === 'string') writeString(out, value);
  else if (value instanceof TypedNumber) writeNumber(out, value);
  else if (isMap(value)) {
    writeHeader(out, TYPE.map, value.size);
    for (const [key, entry] of value) {
      writeString(out, key);
      writeValue(out, entry);
    }
  } else {
    writeHeader(out, TYPE.array, value.length);
    for (const item of value) writeValue(out, item);
  }
}

/**
 * Whether a value inside another is stored once and pointed to. A pointer takes 2 to 5
 * bytes, so strings of a few characters and empty containers are cheaper written in place.
 */
function shared(value: DataValue): boolean {
  if (typeof value === 'string') return value.length >= 3;
  if (value instanceof TypedNumber) return false;
  return isMap(value) ? value.size > 0 : value.length > 0;
}

/** FNV-1a: a cheap hash of a value's bytes, for finding an identical value already written. */
function hash(bytes: Buffer): number {
  let h = 0x811c9dc5;
  // Indexed: a Buffer's iterator costs several times more per byte.
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  // 31 bits, so that every key is a small integer the Map stores without a heap number.
  return h >>> 1;
}

/**
 * The data section, built as values are added. Every value is written once: a value equal to
 * one already written is its offset again, and inside maps and arrays, keys, strings and
 * containers are pointers to their one copy (many networks share their labels and field names).
 */
export class DataSection {
  readonly #bytes = new ByteWriter(64 * 1024);
  readonly #scratch = new ByteWriter();
  /** Offset of a written value by the hash of its bytes; a value whose hash is taken by another is written again, not shared. */
  readonly #offsets = new Map<number, number>();
  /** Offset of each string written: field names and labels recur in every map, and this spares encoding them again. */
  readonly #strings = new Map<string, number>();

  get size(): number {
    return this.#bytes.length;
  }

  /** The section's bytes (a view, valid until the next add). */
  get bytes(): Buffer {
    return this.#bytes.view;
  }

  /** The offset of `value` in the section, written unless an equal value already was. */
  add(value: DataValue): number {
    const out = this.#scratch;
    if (typeof value === 'string') {
      let offset = this.#strings.get(value);
      if (offset === undefined) {
        out.length = 0;
        writeString(out, value);
        offset = this.#intern(out.view);
        this.#strings.set(value, offset);
      }
      return offset;
    }
    if (value instanceof TypedNumber) {
      out.length = 0;
      writeValue(out, value);
      return this.#intern(out.view);
    }
    // A container's shared children are written first: its own bytes then hold only pointers
    // and small values, so equal containers have equal bytes.
    const children: DataValue[] = [];
    if (isMap(value)) for (const [key, entry] of value) children.push(key, entry);
    else children.push(...value);
    const offsets = children.map((child) => (shared(child) ? this.add(child) : -1));
    out.length = 0;
    writeHeader(out, isMap(value) ? TYPE.map : TYPE.array, isMap(value) ? value.size : value.length);
    for (let i = 0; i < children.length; i++) {
      if (offsets[i]! < 0) writeValue(out, children[i]!);
      else writePointer(out, offsets[i]!);
    }
    return this.#intern(out.view);
  }

  #intern(bytes: Buffer): number {
    const key = hash(bytes);
    const known = this.#offsets.get(key);
    if (known !== undefined && this.#bytes.holdsAt(known, bytes)) return known;
    const offset = this.#bytes.length;
    this.#bytes.append(bytes);
    if (known === undefined) this.#offsets.set(key, offset);
    return offset;
  }
}
