const WORDS_PER_BLOCK = 8; // 256 bits: one per address of a /24

/**
 * A set of IPv4 addresses (as numbers): a 256-bit map for each /24 in use. Feeds cluster
 * their addresses in /24s, so this takes a few bytes an address where a Set would take
 * dozens, and adding needs no sorting.
 */
export class Ipv4Set {
  private readonly slots = new Map<number, number>(); // /24 → offset of its map in `words`
  private words = new Uint32Array(WORDS_PER_BLOCK * 1024);
  private used = 0;
  size = 0;

  /** Adds `address`; false when it was in the set already. */
  add(address: number): boolean {
    let slot = this.slots.get(address >>> 8);
    if (slot === undefined) {
      slot = this.used;
      this.used += WORDS_PER_BLOCK;
      if (this.used > this.words.length) this.grow();
      this.slots.set(address >>> 8, slot);
    }
    const word = slot + ((address & 0xff) >>> 5);
    const bit = 1 << (address & 31);
    if ((this.words[word]! & bit) !== 0) return false;
    this.words[word]! |= bit;
    this.size += 1;
    return true;
  }

  has(address: number): boolean {
    const slot = this.slots.get(address >>> 8);
    return slot !== undefined && (this.words[slot + ((address & 0xff) >>> 5)]! & (1 << (address & 31))) !== 0;
  }

  private grow(): void {
    const bigger = new Uint32Array(this.words.length * 2);
    bigger.set(this.words);
    this.words = bigger;
  }
}
