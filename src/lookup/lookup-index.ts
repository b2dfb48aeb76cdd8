import { recordFields, type RecordFields, type ShapedRecord } from '../api/ipoid-shape.ts';
import { feedName } from '../feed/feed-types.ts';
import { FULL_PREFIX, isIpv4Mapped, keyText, type CanonicalIp } from '../feed/ip.ts';
import type { SpurRecord } from '../feed/schema.ts';
import { dataVersionOf, feedRecords, type DataVersion } from '../store/feed-status.ts';
import type { DataRow } from '../store/rows.ts';
import type { RecordKey } from '../store/realtime-keys.ts';
import type { FeedStatus } from '../store/types.ts';
import { FieldDictionary, FIELDS, type FieldValue } from './field-dictionary.ts';
import { keyRange, SegmentBuilder, segmentBuffers, segmentBytes, type SegmentParts } from './segment.ts';

/*
 * The API's lookup index: every stored record of one snapshot, held in typed arrays (a few
 * bytes of key and a byte or two per field a record), so that a lookup is a few binary
 * searches in memory and never a database round trip. It is immutable: a new import makes a
 * new index (patched, folded or built whole), and a lookup reads one index from start to end,
 * so it never mixes two imports.
 */

/** A built index as plain data: what the builder's worker thread sends (its arrays are shared or handed over, not copied). */
export interface IndexParts {
  /** The feeds' status in the snapshot the records were read from: the data's version. */
  statuses: FeedStatus[];
  /** Stored network prefix lengths (128-bit space), longest first: where a lookup probes for containing networks. */
  lengths: number[];
  /** Each field's dictionary of values, in FIELDS order. */
  values: FieldValue[][];
  /** IPv4 addresses, keyed by their 32 bits. */
  v4: SegmentParts;
  /** Everything else, keyed by 128 bits of address and the prefix length. */
  other: SegmentParts;
}

const isIpv4Address = (bytes: Buffer, prefixLen: number): boolean => prefixLen === FULL_PREFIX && isIpv4Mapped(bytes);

const wordsOf = (bytes: Buffer): number[] => [bytes.readUInt32BE(0), bytes.readUInt32BE(4), bytes.readUInt32BE(8), bytes.readUInt32BE(12)];

/** `words` masked to their first `length` bits, into `key`'s first four words. */
function maskInto(key: Uint32Array, words: readonly number[], length: number): void {
  for (let i = 0; i < 4; i++) {
    const bits = length - i * 32;
    key[i] = bits >= 32 ? words[i]! : bits <= 0 ? 0 : (words[i]! & (~0 << (32 - bits))) >>> 0;
  }
}

// The key a lookup searches for, reused: a lookup runs to its end without yielding.
const probe = new Uint32Array(5);

// The overlay's rows of a key when there is no overlay: one array for every probe, not a new one each.
const NO_ROWS: readonly [number, number] = [0, 0];

/** Builds an index from rows in key order (Store.scanRecords). */
export class IndexBuilder {
  readonly #dictionaries = FIELDS.map((field) => new FieldDictionary(field));
  readonly #v4 = new SegmentBuilder(1);
  readonly #other = new SegmentBuilder(5);
  readonly #lengths = new Set<number>();

  add(row: DataRow): void {
    const fields = recordFields(JSON.parse(row.context) as SpurRecord);
    const ids = FIELDS.map((field, i) => this.#dictionaries[i]!.idOf(fields[field]));
    // A network of one address is stored as the address ("1.2.3.4/32" as 1.2.3.4, prefix 128) under its feed's own spelling.
    const text = row.ip_text === keyText(row.ip, row.prefix_len) ? undefined : row.ip_text;
    const [segment, key] = this.#placeOf(row);
    segment.add(key, row.feed_id, row.last_updated, ids, text);
  }

  /** Adds that the key's record is gone (a patch: the base's row of the key and feed is no longer served), in key order with `add`. */
  remove(key: RecordKey): void {
    const [segment, words] = this.#placeOf(key);
    segment.addGone(words, key.feed_id);
  }

  /** The segment a key belongs in, and its words there. */
  #placeOf({ ip, prefix_len }: { ip: Buffer; prefix_len: number }): [SegmentBuilder, number[]] {
    const words = wordsOf(ip);
    if (isIpv4Address(ip, prefix_len)) return [this.#v4, [words[3]!]];
    if (prefix_len < FULL_PREFIX) this.#lengths.add(prefix_len);
    return [this.#other, [...words, prefix_len]];
  }

  /** The index: in shared memory for a base (the builder keeps it too), else handed over (a patch's overlay). */
  finish(statuses: FeedStatus[], memory: { shared: boolean }): IndexParts {
    return {
      statuses,
      lengths: [...this.#lengths].sort((a, b) => b - a),
      values: this.#dictionaries.map((dictionary) => dictionary.values),
      v4: this.#v4.finish(memory),
      other: this.#other.finish(memory),
    };
  }
}

/** The buffers to hand over with an index's parts (unshared: a patch's overlay). */
export const indexBuffers = (parts: IndexParts): ArrayBuffer[] => [...segmentBuffers(parts.v4), ...segmentBuffers(parts.other)];

export class LookupIndex {
  readonly #base: IndexParts;
  /** The keys the runs since the base was read wrote, as they are now (their newer rows win; gone rows hide the base's). */
  readonly #overlay: IndexParts | undefined;
  /** Network lengths of both, longest first. */
  readonly #lengths: number[];
  /** The version of the data the index holds (store/feed-status.ts dataVersionOf). */
  readonly version: DataVersion;

  constructor(base: IndexParts, overlay?: IndexParts) {
    this.#base = base;
    this.#overlay = overlay;
    this.#lengths = overlay ? [...new Set([...base.lengths, ...overlay.lengths])].sort((a, b) => b - a) : base.lengths;
    this.version = dataVersionOf((overlay ?? base).statuses);
  }

  /**
   * This index with the keys the runs since its base was read wrote (Store.scanChanges from
   * `baseStatuses`): all of them, so patches do not pile up.
   */
  patched(overlay: IndexParts): LookupIndex {
    return new LookupIndex(this.#base, overlay);
  }

  /** The feeds' status the base was read in: what the next patch reads the slots since. */
  get baseStatuses(): FeedStatus[] {
    return this.#base.statuses;
  }

  /** Records of the base: the last whole build or fold. */
  get baseRecords(): number {
    return recordsOf(this.#base);
  }

  /** Keys the last patch read: those the runs since the base wrote, a record or gone. */
  get overlayRecords(): number {
    return this.#overlay ? recordsOf(this.#overlay) : 0;
  }

  /** The records stored in the version held: with an overlay, as the feeds' runs count them (slots add records, and merge into others). */
  get records(): number {
    return this.#overlay ? this.#overlay.statuses.reduce((sum, status) => sum + feedRecords(status), 0) : this.baseRecords;
  }

  /** Bytes of its arrays (the dictionaries' few distinct values are left out). */
  get bytes(): number {
    return partsBytes(this.#base) + (this.#overlay ? partsBytes(this.#overlay) : 0);
  }

  /**
   * As Store.lookup: the address's own records, then those of every network containing it
   * from the longest prefix, each key's records in feed order.
   */
  lookup(address: CanonicalIp): ShapedRecord[] {
    const found: ShapedRecord[] = [];
    const words = wordsOf(address.bytes);
    if (isIpv4Address(address.bytes, address.prefixLen)) {
      probe[0] = words[3]!;
      this.#collect('v4', address.text, found);
    } else {
      probe.set(words);
      probe[4] = address.prefixLen;
      this.#collect('other', address.text, found);
    }
    for (const length of this.#lengths) {
      if (length >= address.prefixLen) continue;
      maskInto(probe, words, length);
      probe[4] = length;
      this.#collect('other', undefined, found);
    }
    return found;
  }

  /**
   * Appends the records of the probe's key, in feed order, the overlay's row of a feed in place
   * of the base's (none for a gone row); a network's key text is spelled only when it is found.
   */
  #collect(segment: 'v4' | 'other', text: string | undefined, found: ShapedRecord[]): void {
    const base = this.#base[segment];
    const [from, to] = keyRange(base, probe);
    const [newerFrom, newerTo] = this.#overlay ? keyRange(this.#overlay[segment], probe) : NO_ROWS;
    if (from === to && newerFrom === newerTo) return;
    const keyString = text ?? keyText(bytesOf(probe), probe[4]!);
    const overlay = this.#overlay!;
    let row = from;
    let newer = newerFrom;
    while (row < to || newer < newerTo) {
      const baseFeed = row < to ? base.feeds[row]! : Infinity;
      const newerFeed = newer < newerTo ? overlay[segment].feeds[newer]! : Infinity;
      if (newerFeed <= baseFeed) {
        if (!overlay[segment].gone.has(newer)) found.push(this.#record(overlay, overlay[segment], newer, keyString));
        newer++;
        if (newerFeed === baseFeed) row++;
      } else {
        found.push(this.#record(this.#base, base, row++, keyString));
      }
    }
  }

  #record(parts: IndexParts, segment: SegmentParts, row: number, keyString: string): ShapedRecord {
    return {
      feed: feedName(segment.feeds[row]!),
      key: segment.texts.get(row) ?? keyString,
      lastUpdated: segment.lastUpdated[row]!,
      fields: this.#fields(parts.values, segment, row),
    };
  }

  /** The record's fields, written out whole in FIELDS' order: V8 builds an object of one shape far faster than one grown key by key. */
  #fields(values: FieldValue[][], segment: SegmentParts, row: number): RecordFields {
    const ids = segment.fields;
    return {
      org: values[0]![ids[0]![row]!] as string,
      client_count: values[1]![ids[1]![row]!] as number,
      types: values[2]![ids[2]![row]!] as string[],
      conc_city: values[3]![ids[3]![row]!] as string,
      conc_state: values[4]![ids[4]![row]!] as string,
      conc_country: values[5]![ids[5]![row]!] as string,
      countries: values[6]![ids[6]![row]!] as number,
      location_country: values[7]![ids[7]![row]!] as string,
      risks: values[8]![ids[8]![row]!] as string[],
      proxies: values[9]![ids[9]![row]!] as string[],
      behaviors: values[10]![ids[10]![row]!] as string[],
      tunnels: values[11]![ids[11]![row]!] as string[],
      // Absent from the feed's record: undefined here, left out of the answer (ipoidRecord).
      conc_geohash: values[12]![ids[12]![row]!] as string | undefined,
      conc_skew: values[13]![ids[13]![row]!] as number | undefined,
      conc_density: values[14]![ids[14]![row]!] as number | undefined,
    };
  }
}

/** Rows of the index's parts: its records, and a patch's gone keys. */
export const recordsOf = (parts: IndexParts): number => parts.v4.feeds.length + parts.other.feeds.length;

const partsBytes = (parts: IndexParts): number => segmentBytes(parts.v4) + segmentBytes(parts.other);

function bytesOf(words: Uint32Array): Buffer {
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) bytes.writeUInt32BE(words[i]!, i * 4);
  return bytes;
}
