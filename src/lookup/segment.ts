import { ColumnBuilder, sharedArray, type ColumnArray } from './column.ts';
import { FIELDS } from './field-dictionary.ts';

/*
 * A segment of the lookup index: records sorted by key, each key `width` 32-bit words,
 * with one column per field. IPv4 addresses (most records) take one word; everything else
 * (IPv6, networks) four words of address and one of prefix length.
 */

/** A built segment, as plain typed arrays (they cross from the builder's worker thread without a copy: shared, or handed over). */
export interface SegmentParts {
  width: number;
  keys: ColumnArray;
  feeds: ColumnArray;
  lastUpdated: ColumnArray;
  /** One column per FIELDS entry: each record's value id in that field's dictionary. */
  fields: ColumnArray[];
  /** The stored key text of the few records whose text is not the canonical one of their key ("1.2.3.4/32"), by row. */
  texts: Map<number, string>;
  /** Rows that say their key's record of their feed is gone (a patch's overlay: an import deleted it), not a record. */
  gone: Set<number>;
  /**
   * Where the keys of each value of their first word's top 16 bits start (an IPv4 /16, for the
   * IPv4 segment), by that value, and then the number of rows: a lookup's binary search starts
   * within the rows of its /16, a few cache lines, instead of among all the keys.
   */
  directory: Uint32Array;
}

// A gone row's field ids: any, never read.
const GONE_FIELDS: readonly number[] = FIELDS.map(() => 0);

// Top bits of a key's first word that pick its place in the directory.
const DIRECTORY_BITS = 16;

export class SegmentBuilder {
  readonly #width: number;
  readonly #keys = new ColumnBuilder();
  readonly #feeds = new ColumnBuilder();
  readonly #lastUpdated = new ColumnBuilder();
  readonly #fields = FIELDS.map(() => new ColumnBuilder());
  readonly #previous: number[] = [];
  readonly #texts = new Map<number, string>();
  readonly #gone = new Set<number>();

  constructor(width: number) {
    this.#width = width;
  }

  /**
   * Appends a record; keys must come in ascending order (equal for the same key in several
   * feeds). `text`: its stored key text, when it is not the canonical text of its key.
   */
  add(key: readonly number[], feedId: number, lastUpdated: number, fieldIds: readonly number[], text?: string): void {
    if (text !== undefined) this.#texts.set(this.#feeds.length, text);
    this.#append(key, feedId, lastUpdated, fieldIds);
  }

  /** Appends a row saying the key's record of the feed is gone, in the same key order as `add`. */
  addGone(key: readonly number[], feedId: number): void {
    this.#gone.add(this.#feeds.length);
    this.#append(key, feedId, 0, GONE_FIELDS);
  }

  #append(key: readonly number[], feedId: number, lastUpdated: number, fieldIds: readonly number[]): void {
    if (compareWords(key, this.#previous) < 0) throw new Error('the store scanned records out of key order');
    for (let i = 0; i < this.#width; i++) {
      this.#keys.push(key[i]!);
      this.#previous[i] = key[i]!;
    }
    this.#feeds.push(feedId);
    this.#lastUpdated.push(lastUpdated);
    fieldIds.forEach((id, i) => this.#fields[i]!.push(id));
  }

  finish(memory: { shared: boolean }): SegmentParts {
    const keys = this.#keys.finish(memory);
    return {
      width: this.#width,
      keys,
      feeds: this.#feeds.finish(memory),
      lastUpdated: this.#lastUpdated.finish(memory),
      fields: this.#fields.map((column) => column.finish(memory)),
      texts: this.#texts,
      gone: this.#gone,
      directory: directoryOf(keys, this.#width, memory),
    };
  }
}

/** A segment's directory (SegmentParts.directory) of its keys. */
export function directoryOf(keys: ColumnArray, width: number, { shared }: { shared: boolean }): Uint32Array {
  const rows = keys.length / width;
  const length = 2 ** DIRECTORY_BITS + 1;
  const directory = shared ? sharedArray(Uint32Array, length) : new Uint32Array(length);
  let row = 0;
  for (let prefix = 0; prefix < directory.length; prefix++) {
    while (row < rows && keys[row * width]! >>> DIRECTORY_BITS < prefix) row++;
    directory[prefix] = row;
  }
  return directory;
}

function compareWords(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < b.length; i++) if (a[i]! !== b[i]!) return a[i]! - b[i]!;
  return 0;
}

/** Compares the key of record `row` with `key` (its first `width` words). */
function compareAt(keys: ColumnArray, width: number, row: number, key: Uint32Array): number {
  const at = row * width;
  for (let i = 0; i < width; i++) {
    const difference = keys[at + i]! - key[i]!;
    if (difference !== 0) return difference;
  }
  return 0;
}

/** The records whose key is `key`, as [from, to): a binary search, then the run of equal keys (one per feed). */
export function keyRange(segment: SegmentParts, key: Uint32Array): [number, number] {
  const { keys, width, directory } = segment;
  const prefix = key[0]! >>> DIRECTORY_BITS;
  // Equal keys have the same prefix: the run of them ends within its rows too.
  const end = directory[prefix + 1]!;
  let low = directory[prefix]!;
  let high = end;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareAt(keys, width, mid, key) < 0) low = mid + 1;
    else high = mid;
  }
  let to = low;
  while (to < end && compareAt(keys, width, to, key) === 0) to++;
  return [low, to];
}

/** Bytes the segment's arrays take. */
export const segmentBytes = (segment: SegmentParts): number =>
  [segment.keys, segment.feeds, segment.lastUpdated, ...segment.fields, segment.directory].reduce(
    (sum, array) => sum + array.byteLength,
    0,
  );

/** The arrays' buffers, to hand over rather than copy to another thread (unshared arrays only). */
export const segmentBuffers = (segment: SegmentParts): ArrayBuffer[] =>
  [segment.keys, segment.feeds, segment.lastUpdated, ...segment.fields, segment.directory].map((array) => array.buffer as ArrayBuffer);
