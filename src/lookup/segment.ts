import { ColumnBuilder, type ColumnArray } from './column.ts';
import { FIELDS } from './field-dictionary.ts';

/*
 * A segment of the lookup index: records sorted by key, each key `width` 32-bit words,
 * with one column per field. IPv4 addresses (most records) take one word; everything else
 * (IPv6, networks) four words of address and one of prefix length.
 */

/** A built segment, as plain typed arrays (they cross from the builder's worker thread without a copy). */
export interface SegmentParts {
  width: number;
  keys: ColumnArray;
  feeds: ColumnArray;
  lastUpdated: ColumnArray;
  /** One column per FIELDS entry: each record's value id in that field's dictionary. */
  fields: ColumnArray[];
  /** The stored key text of the few records whose text is not the canonical one of their key ("1.2.3.4/32"), by row. */
  texts: Map<number, string>;
}

export class SegmentBuilder {
  readonly #width: number;
  readonly #keys = new ColumnBuilder();
  readonly #feeds = new ColumnBuilder();
  readonly #lastUpdated = new ColumnBuilder();
  readonly #fields = FIELDS.map(() => new ColumnBuilder());
  readonly #previous: number[] = [];
  readonly #texts = new Map<number, string>();

  constructor(width: number) {
    this.#width = width;
  }

  /**
   * Appends a record; keys must come in ascending order (equal for the same key in several
   * feeds). `text`: its stored key text, when it is not the canonical text of its key.
   */
  add(key: readonly number[], feedId: number, lastUpdated: number, fieldIds: readonly number[], text?: string): void {
    if (text !== undefined) this.#texts.set(this.#feeds.length, text);
    if (compareWords(key, this.#previous) < 0) throw new Error('the store scanned records out of key order');
    for (let i = 0; i < this.#width; i++) {
      this.#keys.push(key[i]!);
      this.#previous[i] = key[i]!;
    }
    this.#feeds.push(feedId);
    this.#lastUpdated.push(lastUpdated);
    fieldIds.forEach((id, i) => this.#fields[i]!.push(id));
  }

  finish(): SegmentParts {
    return {
      width: this.#width,
      keys: this.#keys.finish(),
      feeds: this.#feeds.finish(),
      lastUpdated: this.#lastUpdated.finish(),
      fields: this.#fields.map((column) => column.finish()),
      texts: this.#texts,
    };
  }
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
  const { keys, width } = segment;
  const rows = keys.length / width;
  let low = 0;
  let high = rows;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareAt(keys, width, mid, key) < 0) low = mid + 1;
    else high = mid;
  }
  let end = low;
  while (end < rows && compareAt(keys, width, end, key) === 0) end++;
  return [low, end];
}

/** Bytes the segment's arrays take. */
export const segmentBytes = (segment: SegmentParts): number =>
  [segment.keys, segment.feeds, segment.lastUpdated, ...segment.fields].reduce((sum, array) => sum + array.byteLength, 0);

/** The arrays' buffers, to transfer rather than copy to another thread. */
export const segmentBuffers = (segment: SegmentParts): ArrayBuffer[] =>
  [segment.keys, segment.feeds, segment.lastUpdated, ...segment.fields].map((array) => array.buffer as ArrayBuffer);
