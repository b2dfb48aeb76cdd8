/*
 * A reader of the replica while a day replicates: the same batch lookup again and again, each
 * answer kept by its digest with how often and when it was first seen. Once both days'
 * answers are known (read on the primary), it tells whether any read mixed the two.
 */
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { CanonicalIp } from '../src/feed/ip.ts';
import type { Store } from '../src/store/types.ts';

// Paced: the replica applies the day on the same two cores, and every read takes some of them.
export const READ_PAUSE_MS = 100;

/** One digest per answer: equal only if every address's records and their last updates are. */
export async function answerDigest(store: Store, addresses: CanonicalIp[]): Promise<string> {
  const hash = createHash('sha256');
  for (const records of await store.lookupMany(addresses)) {
    for (const r of records) hash.update(`${r.feed} ${r.key} ${r.lastUpdated} ${r.json}\n`);
    hash.update('\0');
  }
  return hash.digest('hex');
}

export interface ReaderTally {
  day1: number;
  day2: number;
  /** Reads that answered as neither day: a mix. */
  mixed: number;
  /** When a read first answered day 2 (performance.now()), or null. */
  firstDay2At: number | null;
}

export class ReplicaReader {
  readonly #seen = new Map<string, { count: number; firstAt: number }>();
  #stopped = false;
  readonly #loop: Promise<void>;

  constructor(store: Store, addresses: CanonicalIp[]) {
    this.#loop = this.#read(store, addresses);
    this.#loop.catch(() => undefined); // handled by waitFor and stop, whenever they come
  }

  async #read(store: Store, addresses: CanonicalIp[]): Promise<void> {
    while (!this.#stopped) {
      const digest = await answerDigest(store, addresses);
      const seen = this.#seen.get(digest);
      if (seen) seen.count++;
      else this.#seen.set(digest, { count: 1, firstAt: performance.now() });
      await delay(READ_PAUSE_MS);
    }
  }

  /** Waits until a read has answered `digest`, for at most `timeoutMs`; answers whether one did. */
  async waitFor(digest: string, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.#seen.has(digest) && performance.now() < deadline) {
      // A failed read ends the loop: report it rather than wait on.
      await Promise.race([this.#loop, delay(READ_PAUSE_MS)]);
      if (this.#stopped) break;
    }
    return this.#seen.has(digest);
  }

  /** Stops reading (after the read under way) and rethrows a read's failure. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  tally(day1: string, day2: string): ReaderTally {
    let mixed = 0;
    for (const [digest, { count }] of this.#seen) if (digest !== day1 && digest !== day2) mixed += count;
    return {
      day1: this.#seen.get(day1)?.count ?? 0,
      day2: this.#seen.get(day2)?.count ?? 0,
      mixed,
      firstDay2At: this.#seen.get(day2)?.firstAt ?? null,
    };
  }
}
