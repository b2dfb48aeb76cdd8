import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { FINGERPRINT_BYTES } from '../store/types.ts';

const NOT_MATCHED = 0;

// md5 spreads fingerprints evenly: the top 16 bits of one point at the few hundred (at 40M)
// a search has left, instead of 26 halvings over the whole table, each a cache miss.
const BUCKET_SHIFT = 16;
const BUCKETS = 2 ** (32 - BUCKET_SHIFT);

/**
 * The fingerprints (first 8 bytes of record_hash) of every record a feed holds, sorted, and
 * which line of this import matched each. Most of a day's feed is yesterday's lines byte for
 * byte: a line whose md5 is a stored fingerprint is that stored record unchanged, so it needs
 * no parsing, no validation and no read of the store. Only the rest take the full path.
 *
 * Memory: 10 bytes per stored record (400 MB at 40M), in typed arrays outside the JS heap: a
 * fingerprint's top 16 bits are its bucket's number, so only the other 48 are kept.
 * A false match needs a new line whose 64-bit fingerprint equals one of the N stored ones:
 * at 40M records and 2M new lines a day, odds of 4·10^-6 a day.
 */
export class StoredFingerprints {
  /** Bits 16 to 31 of each fingerprint (bits 0 to 15 are its bucket's number). */
  readonly #middle: Uint16Array;
  readonly #low: Uint32Array;
  /** Line number that matched each fingerprint in this import; 0: none yet. */
  readonly #matchedBy: Uint32Array;
  /** Bucket b (the fingerprints whose top bits are b) is [buckets[b], buckets[b + 1]). */
  readonly #buckets = new Uint32Array(BUCKETS + 1);
  /** The buckets below this one have their start set. */
  #nextBucket = 0;
  #size = 0;
  #lastHigh = 0;
  #lastLow = 0;

  private constructor(capacity: number) {
    this.#middle = new Uint16Array(capacity);
    this.#low = new Uint32Array(capacity);
    this.#matchedBy = new Uint32Array(capacity);
  }

  /**
   * Reads the stored fingerprints, which `forEach` visits in ascending order (concatenated, many
   * a call), as `count` says how many there are (both from one transaction's snapshot).
   */
  static async load(count: number, forEach: (visit: (fingerprints: Buffer) => void) => Promise<void>): Promise<StoredFingerprints> {
    const set = new StoredFingerprints(count);
    await forEach((fingerprints) => {
      for (let at = 0; at < fingerprints.length; at += FINGERPRINT_BYTES)
        set.#append(fingerprints.readUInt32BE(at), fingerprints.readUInt32BE(at + 4));
    });
    if (set.#size !== count) throw new Error(`the store listed ${set.#size} record hashes for ${count} records`);
    set.#fillBuckets();
    return set;
  }

  /** The buckets after the last fingerprint's start (and end) at the end of the table. */
  #fillBuckets(): void {
    while (this.#nextBucket <= BUCKETS) this.#buckets[this.#nextBucket++] = this.#size;
  }

  #append(high: number, low: number): void {
    const i = this.#size;
    if (i >= this.#low.length) throw new Error(`the store listed more record hashes than its ${this.#low.length} records`);
    if (i > 0 && compare(this.#lastHigh, this.#lastLow, high, low) > 0) throw new Error('stored record hashes are not in order');
    // In order, a fingerprint starts its bucket, and every empty one before it, when none of them has a start yet.
    const bucket = high >>> BUCKET_SHIFT;
    while (this.#nextBucket <= bucket) this.#buckets[this.#nextBucket++] = i;
    this.#middle[i] = high & 0xffff;
    this.#low[i] = low;
    this.#lastHigh = high;
    this.#lastLow = low;
    this.#size = i + 1;
  }

  /**
   * The index of the fingerprint of the hash at `at` of `hashes` (16 bytes) when exactly one
   * stored record has it; -1 when none has, or when several do (a fingerprint collision:
   * those records take the full path).
   */
  find(hashes: Uint8Array, at = 0): number {
    const high = readUInt32BE(hashes, at);
    const middle = high & 0xffff;
    const low = readUInt32BE(hashes, at + 4);
    const bucket = high >>> BUCKET_SHIFT;
    const end = this.#buckets[bucket + 1]!;
    let lo = this.#buckets[bucket]!;
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.#middle[mid]!, this.#low[mid]!, middle, low) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= end || this.#middle[lo] !== middle || this.#low[lo] !== low) return -1;
    const next = lo + 1;
    return next < end && this.#middle[next] === middle && this.#low[next] === low ? -1 : lo;
  }

  /** The line that matched fingerprint `index`, or undefined. */
  matchedBy(index: number): number | undefined {
    const line = this.#matchedBy[index]!;
    return line === NOT_MATCHED ? undefined : line;
  }

  match(index: number, line: number): void {
    this.#matchedBy[index] = line;
  }

  /**
   * Gives the arrays' memory back now; the set is empty after. Dropping the last reference
   * would free it only at V8's next full collection, and the commit that follows is one long
   * synchronous call in which none runs: the 381 MiB of a 40M diff would stay beside the
   * commit's sorts. Arrays sent to a port that closes before it reads them are freed with it.
   */
  async free(): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(null, [this.#middle.buffer, this.#low.buffer, this.#matchedBy.buffer] as ArrayBuffer[]);
    const closed = once(port2, 'close');
    port2.close();
    await closed;
  }

  /** The fingerprints no line matched, 8 bytes each, in order: records gone or rewritten. */
  *unmatched(): Generator<Buffer> {
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      for (let i = this.#buckets[bucket]!; i < this.#buckets[bucket + 1]!; i++) {
        if (this.#matchedBy[i] !== NOT_MATCHED) continue;
        const fingerprint = Buffer.allocUnsafe(FINGERPRINT_BYTES);
        fingerprint.writeUInt32BE(((bucket << BUCKET_SHIFT) | this.#middle[i]!) >>> 0, 0);
        fingerprint.writeUInt32BE(this.#low[i]!, 4);
        yield fingerprint;
      }
    }
  }
}

const readUInt32BE = (bytes: Uint8Array, at: number): number =>
  ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;

function compare(aHigh: number, aLow: number, bHigh: number, bLow: number): number {
  return aHigh - bHigh || aLow - bLow;
}
