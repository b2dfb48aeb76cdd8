/*
 * Growable unsigned integer columns, one value a record: they start one byte wide and widen
 * when a value needs it, so a field with a few hundred distinct values costs one or two bytes
 * a record, not the eight of a JavaScript number.
 */

export type ColumnArray = Uint8Array | Uint16Array | Uint32Array;
type ColumnType = Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor;

const INITIAL_CAPACITY = 1024;

const typeFor = (value: number): ColumnType => (value <= 0xff ? Uint8Array : value <= 0xffff ? Uint16Array : Uint32Array);
const maxOf = (array: ColumnArray): number => (array instanceof Uint8Array ? 0xff : array instanceof Uint16Array ? 0xffff : 0xffffffff);

function copied(Type: ColumnType, from: ColumnArray, capacity: number): ColumnArray {
  const next = new Type(capacity);
  next.set(from);
  return next;
}

/** A column being filled: appends, widening and doubling its array as needed. */
export class ColumnBuilder {
  #array: ColumnArray = new Uint8Array(INITIAL_CAPACITY);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(value: number): void {
    if (value > 0xffffffff || value < 0 || !Number.isInteger(value))
      throw new RangeError(`a column holds 32-bit unsigned integers, not ${value}`);
    if (value > maxOf(this.#array)) this.#array = copied(typeFor(value), this.#array, this.#array.length);
    if (this.#length === this.#array.length) this.#array = copied(typeFor(maxOf(this.#array)), this.#array, this.#length * 2);
    this.#array[this.#length++] = value;
  }

  /** The values, in an array exactly as long (a copy, so that the spare capacity is freed). */
  finish(): ColumnArray {
    return this.#array.slice(0, this.#length);
  }
}
