/*
 * Growable unsigned integer columns, one value a record: they start one byte wide and widen
 * when a value needs it, so a field with a few hundred distinct values costs one or two bytes
 * a record, not the eight of a JavaScript number.
 */

export type ColumnArray = Uint8Array | Uint16Array | Uint32Array;
export type ColumnType = Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor;

const INITIAL_CAPACITY = 1024;
// Growth by half, not double: at tens of millions of records the spare capacity is memory the build holds.
const GROWTH = 1.5;

/** The narrowest type that holds `value`. */
export const typeFor = (value: number): ColumnType => (value <= 0xff ? Uint8Array : value <= 0xffff ? Uint16Array : Uint32Array);

/**
 * A zeroed array in shared memory: an index's base is shared between the API's thread, which
 * reads it, and the builder's, which keeps it to fold the next patch into (fold.ts), without
 * a copy. (A patch's overlay is not kept: it is handed over, V8 counting its memory.)
 */
export const sharedArray = <T extends ColumnType>(Type: T, length: number): InstanceType<T> =>
  // (One constructor's signature: TypeScript resolves none on the union of the three.)
  new (Type as Uint8ArrayConstructor)(new SharedArrayBuffer(length * Type.BYTES_PER_ELEMENT)) as InstanceType<T>;
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
    if (this.#length === this.#array.length) {
      this.#array = copied(typeFor(maxOf(this.#array)), this.#array, Math.ceil(this.#length * GROWTH));
    }
    this.#array[this.#length++] = value;
  }

  /**
   * The values, in an array exactly as long (in shared memory if `shared`): a copy, so that the
   * spare capacity is freed, and the builder lets go of its array at once, so that a build
   * holds one column twice at most.
   */
  finish({ shared }: { shared: boolean }): ColumnArray {
    const Type = typeFor(maxOf(this.#array));
    const values = shared ? sharedArray(Type, this.#length) : new Type(this.#length);
    values.set(this.#array.subarray(0, this.#length));
    this.#array = new Uint8Array(0);
    this.#length = 0;
    return values;
  }
}
