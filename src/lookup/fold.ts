import { FULL_PREFIX } from '../feed/ip.ts';
import { sharedArray, typeFor, type ColumnArray, type ColumnType } from './column.ts';
import { FieldDictionary, FIELDS } from './field-dictionary.ts';
import type { IndexParts } from './lookup-index.ts';
import { directoryOf, type SegmentParts } from './segment.ts';

/*
 * Folding a patch's overlay into its base: the index a whole build would have read at the
 * patch's snapshot, made from the two in memory instead of from every record of the store.
 * A merge of two sorted runs of rows: for a key and feed in both, the overlay's row wins (a
 * gone row drops both). Without it, the overlay of every run since the last build grows until
 * a whole build is due, which reads the store again (minutes at tens of millions of records).
 */

/** The type of whichever array holds the wider values. */
const widerType = (a: ColumnArray, b: ColumnArray): ColumnType =>
  (a.BYTES_PER_ELEMENT >= b.BYTES_PER_ELEMENT ? a.constructor : b.constructor) as ColumnType;

/** Orders row `i` of `a` against row `j` of `b`: by key, then feed (the order scans give). */
function compareRows(a: SegmentParts, i: number, b: SegmentParts, j: number): number {
  const width = a.width;
  for (let w = 0; w < width; w++) {
    const difference = a.keys[i * width + w]! - b.keys[j * width + w]!;
    if (difference !== 0) return difference;
  }
  return a.feeds[i]! - b.feeds[j]!;
}

/**
 * The two segments' rows merged. `fieldIds[f]` maps the overlay's value ids of field `f` to
 * the folded dictionary's; the base's ids stay as they are (its values keep their places).
 */
function foldSegment(base: SegmentParts, overlay: SegmentParts, fieldIds: Uint32Array[], fieldTypes: ColumnType[]): SegmentParts {
  const { width } = base;
  const baseRows = base.feeds.length;
  const overlayRows = overlay.feeds.length;
  // At most this many rows (fewer when the overlay replaces the base's rows): the arrays are views of their first `rows`.
  const capacity = baseRows + overlayRows - overlay.gone.size;
  const keys = sharedArray(Uint32Array, capacity * width);
  const feeds = sharedArray(widerType(base.feeds, overlay.feeds), capacity);
  const lastUpdated = sharedArray(widerType(base.lastUpdated, overlay.lastUpdated), capacity);
  const fields = fieldTypes.map((Type) => sharedArray(Type, capacity));
  const texts = new Map<number, string>();
  let rows = 0;
  const copy = (from: SegmentParts, row: number, ids?: Uint32Array[]): void => {
    for (let w = 0; w < width; w++) keys[rows * width + w] = from.keys[row * width + w]!;
    feeds[rows] = from.feeds[row]!;
    lastUpdated[rows] = from.lastUpdated[row]!;
    for (let f = 0; f < fields.length; f++) {
      const id = from.fields[f]![row]!;
      fields[f]![rows] = ids ? ids[f]![id]! : id;
    }
    const text = from.texts.size ? from.texts.get(row) : undefined;
    if (text !== undefined) texts.set(rows, text);
    rows++;
  };
  let b = 0;
  let o = 0;
  while (b < baseRows || o < overlayRows) {
    const order = b === baseRows ? 1 : o === overlayRows ? -1 : compareRows(base, b, overlay, o);
    if (order < 0) {
      copy(base, b++);
      continue;
    }
    if (!overlay.gone.has(o)) copy(overlay, o, fieldIds);
    if (order === 0) b++;
    o++;
  }
  const folded = keys.subarray(0, rows * width);
  return {
    width,
    keys: folded,
    feeds: feeds.subarray(0, rows),
    lastUpdated: lastUpdated.subarray(0, rows),
    fields: fields.map((column) => column.subarray(0, rows)),
    texts,
    gone: new Set(),
    directory: directoryOf(folded, width, { shared: true }),
  };
}

/** The network lengths (under 128) of the segment of IPv6 addresses and networks, longest first. */
function lengthsOf(other: SegmentParts): number[] {
  const lengths = new Set<number>();
  for (let at = other.width - 1; at < other.keys.length; at += other.width) if (other.keys[at]! < FULL_PREFIX) lengths.add(other.keys[at]!);
  return [...lengths].sort((a, b) => b - a);
}

/** The base with the overlay (a patch of it: LookupIndex.patched) folded in, as one base. */
export function foldOverlay(base: IndexParts, overlay: IndexParts): IndexParts {
  // The base's values keep their ids; the overlay's are looked up, and new ones appended.
  const dictionaries = FIELDS.map((field, f) => {
    const dictionary = new FieldDictionary(field);
    for (const value of base.values[f]!) dictionary.idOf(value);
    return dictionary;
  });
  const fieldIds = FIELDS.map((_, f) => Uint32Array.from(overlay.values[f]!, (value) => dictionaries[f]!.idOf(value)));
  const fieldTypes = dictionaries.map((dictionary) => typeFor(Math.max(0, dictionary.values.length - 1)));
  const other = foldSegment(base.other, overlay.other, fieldIds, fieldTypes);
  return {
    statuses: overlay.statuses,
    lengths: lengthsOf(other),
    values: dictionaries.map((dictionary) => dictionary.values),
    v4: foldSegment(base.v4, overlay.v4, fieldIds, fieldTypes),
    other,
  };
}
