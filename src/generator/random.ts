import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** Values with relative weights, precomputed for a binary-search pick. */
export interface Weighted<T> {
  readonly items: readonly T[];
  readonly cumulative: readonly number[];
}

export function weighted<T>(pairs: ReadonlyArray<readonly [T, number]>): Weighted<T> {
  let total = 0;
  const cumulative = pairs.map(([, weight]) => (total += weight));
  return { items: pairs.map(([item]) => item), cumulative };
}

/** The same weights over other items, e.g. the items' JSON text. */
export function mapWeighted<T, U>(table: Weighted<T>, map: (item: T) => U): Weighted<U> {
  return { items: table.items.map(map), cumulative: table.cumulative };
}

/** Zipf-like popularity: the item of rank r (from 1) weighs 1 / r^exponent. */
export function zipf<T>(items: readonly T[], exponent = 1.1): Weighted<T> {
  return weighted(items.map((item, i) => [item, 1 / (i + 1) ** exponent] as const));
}

const TWO_POW_32 = 2 ** 32;
const TWO_POW_MINUS_32 = 2 ** -32;

/**
 * The generator's only source of randomness: a seeded pure-rand stream, so one seed always
 * gives the same feed. Separate streams (see createRandom) keep one concern's draws from
 * shifting another's when either changes.
 */
export class Random {
  constructor(private readonly source: RandomGenerator) {}

  /**
   * Uniform in [0, 1), in steps of 2^-32: one draw of the source, fine-grained enough for
   * chances and picks. (pure-rand's uniformFloat64 and uniformInt cost several times more, and
   * a feed takes tens of draws per record.)
   */
  float(): number {
    return (this.source.next() >>> 0) * TWO_POW_MINUS_32;
  }

  /** Uniform integer in [min, max], both included; spans up to 2^32 take one draw, wider ones two (53 bits). */
  int(min: number, max: number): number {
    const span = max - min + 1;
    if (span <= TWO_POW_32) return min + Math.floor(this.float() * span);
    const bits53 = (this.source.next() >>> 0) * 2 ** 21 + (this.source.next() >>> 11);
    return min + Math.floor(bits53 * 2 ** -53 * span);
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  pickWeighted<T>(table: Weighted<T>): T {
    const { cumulative } = table;
    const target = this.float() * cumulative[cumulative.length - 1]!;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return table.items[lo]!;
  }

  /** Up to `count` distinct weighted picks (fewer when the table is too small or too skewed). */
  pickDistinct<T>(table: Weighted<T>, count: number): T[] {
    const picked: T[] = [];
    for (let attempt = 0; picked.length < count && attempt < count * 4; attempt++) {
      const item = this.pickWeighted(table);
      if (!picked.includes(item)) picked.push(item);
    }
    return picked;
  }

  /** The values whose chance comes up, in table order. */
  chosen(table: ReadonlyArray<readonly [string, number]>): string[] {
    return table.filter(([, probability]) => this.chance(probability)).map(([value]) => value);
  }

  /** Integer in [1, max], log-uniform: small values common, large ones rare (client counts). */
  logUniform(max: number): number {
    return Math.min(max, Math.floor(Math.exp(this.float() * Math.log(max + 1))));
  }

  /** `count` distinct integers of [min, max] in ascending order (Floyd's algorithm: O(count)). */
  sampleSorted(count: number, min: number, max: number): number[] {
    const span = max - min + 1;
    const picked = new Set<number>();
    for (let j = span - count; j < span; j++) {
      const t = this.int(0, j);
      picked.add(picked.has(t) ? j : t);
    }
    return [...picked].sort((a, b) => a - b).map((v) => v + min);
  }
}

/**
 * Stream `stream` of `seed`: xoroshiro128+ jumped ahead 2^64 steps per stream, so streams
 * never overlap. Stream 0 is jumped too: straight from a small seed the first outputs are
 * nearly constant (seeds 1 and 2 both start 0xfffffffX), which would put every feed's first
 * range in 1.x.x.x. The seed must be a 32-bit unsigned integer: pure-rand keeps 32 bits, so
 * a larger one would silently alias a smaller one.
 */
export function createRandom(seed: number, stream = 0): Random {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in [0, ${0xffffffff}], got ${seed}`);
  }
  const source = xoroshiro128plus(seed);
  for (let i = 0; i <= stream; i++) source.jump();
  return new Random(source);
}
