/*
 * The search tree of a MaxMind DB file (spec "Search Tree Section"): a binary trie over the
 * 128 bits of an IPv6 address. Each node holds two records, for a 0 and a 1 bit; a record is
 * another node's number, the node count (no data), or a data pointer: node count + 16 + the
 * value's offset in the data section (the 16 zero bytes that separate the tree from the data).
 *
 * Nodes live in Uint32Arrays, two records per node, 8 bytes a node: a tree of a few
 * million networks has tens of millions of nodes, too many for an object each. The arrays
 * are blocks of a fixed size, added as the tree grows: one growing array would be copied
 * at each growth and hold up to half its size unused.
 */

/** The zero bytes between the search tree and the data section. */
export const DATA_SECTION_SEPARATOR = 16;

// In memory a record is 0 (no data: nothing points back to the root, node 0), a node number,
// or DATA + the data offset.
const EMPTY = 0;
const DATA = 0x8000_0000;
const BITS = 128;
// 2^16 nodes a block (512 KiB), so a record's block and place are its index's high and low bits.
const BLOCK_SHIFT = 17;
const BLOCK_MASK = (1 << BLOCK_SHIFT) - 1;
// Nodes written per output chunk: about 56 KiB at 28-bit records.
const NODES_PER_CHUNK = 8192;

const isNode = (record: number) => record !== EMPTY && record < DATA;

const bitAt = (address: Buffer, index: number) => (address[index >> 3]! >> (7 - (index & 7))) & 1;

/** The longest prefix two addresses share, in bits. */
function commonPrefix(a: Buffer, b: Buffer): number {
  let bits = 0;
  while (bits < BITS && bitAt(a, bits) === bitAt(b, bits)) bits++;
  return bits;
}

export class SearchTree {
  readonly #blocks = [new Uint32Array(1 << BLOCK_SHIFT)];
  #nodeCount = 1;

  get nodeCount(): number {
    return this.#nodeCount;
  }

  /**
   * Gives the network `address`/`prefixLen` (16 bytes, prefix in the 128-bit space) the data
   * at `dataOffset`. Networks are inserted enclosing before enclosed: a network inside one
   * already inserted splits it, and the rest of it keeps the enclosing network's data.
   */
  insert(address: Buffer, prefixLen: number, dataOffset: number): void {
    if (dataOffset >= DATA) throw new RangeError(`data section offset ${dataOffset} is past what a tree record holds`);
    this.#set(address, prefixLen, DATA + dataOffset);
  }

  /**
   * Makes the network `alias`/`prefixLen` lead where `target`/`prefixLen` does, one subtree
   * reached along two paths (how a reader's IPv4 lookup in an IPv6 tree finds IPv4-mapped data).
   * `alias` must hold no networks of its own.
   */
  alias(alias: Buffer, target: Buffer, prefixLen: number): void {
    const { record, depth } = this.#find(target, prefixLen);
    // A record above the point where the two paths part already answers for both.
    if (depth <= commonPrefix(alias, target)) return;
    this.#set(alias, prefixLen, record);
  }

  /** The size of a record, in bits, that holds every record value when the data section is `dataSize` bytes. */
  recordSize(dataSize: number): 24 | 28 | 32 {
    const largest = this.#nodeCount + DATA_SECTION_SEPARATOR + dataSize;
    if (largest < 2 ** 24) return 24;
    if (largest < 2 ** 28) return 28;
    if (largest < 2 ** 32) return 32;
    throw new RangeError(`a MaxMind DB file holds at most 2^32 nodes and data bytes together, not ${largest}`);
  }

  /** The tree section: the nodes in order, `recordSize` bits a record, in chunks. */
  *chunks(recordSize: 24 | 28 | 32): Generator<Buffer> {
    const nodeBytes = recordSize / 4;
    const value = (record: number) =>
      record === EMPTY ? this.#nodeCount : record >= DATA ? this.#nodeCount + DATA_SECTION_SEPARATOR + (record - DATA) : record;
    for (let first = 0; first < this.#nodeCount; first += NODES_PER_CHUNK) {
      const count = Math.min(NODES_PER_CHUNK, this.#nodeCount - first);
      const chunk = Buffer.alloc(count * nodeBytes);
      for (let i = 0; i < count; i++) {
        const left = value(this.#record(2 * (first + i)));
        const right = value(this.#record(2 * (first + i) + 1));
        const at = i * nodeBytes;
        if (recordSize === 28) {
          // The middle byte holds the top four bits of each record: the left's high nibble, the right's low.
          chunk.writeUIntBE(left & 0xffffff, at, 3);
          chunk[at + 3] = ((left >>> 24) << 4) | (right >>> 24);
          chunk.writeUIntBE(right & 0xffffff, at + 4, 3);
        } else {
          chunk.writeUIntBE(left, at, nodeBytes / 2);
          chunk.writeUIntBE(right, at + nodeBytes / 2, nodeBytes / 2);
        }
      }
      yield chunk;
    }
  }

  /** The record that answers for `address`/`prefixLen`, and the depth (in bits) it sits at: where the walk met data or no data, else prefixLen. */
  #find(address: Buffer, prefixLen: number): { record: number; depth: number } {
    let node = 0;
    for (let depth = 0; ; depth++) {
      const record = this.#record(2 * node + bitAt(address, depth));
      if (depth + 1 === prefixLen || !isNode(record)) return { record, depth: depth + 1 };
      node = record;
    }
  }

  #set(address: Buffer, prefixLen: number, value: number): void {
    // A /0 is both of the root's records.
    const indexes = prefixLen === 0 ? [0, 1] : [this.#recordIndex(address, prefixLen)];
    for (const index of indexes) {
      if (isNode(this.#record(index))) throw new Error('networks must be inserted in address order, enclosing before enclosed');
      this.#setRecord(index, value);
    }
  }

  /** The index of the record for `address`/`prefixLen`, splitting the data (or no data) above it into nodes. */
  #recordIndex(address: Buffer, prefixLen: number): number {
    let node = 0;
    for (let depth = 0; ; depth++) {
      const index = 2 * node + bitAt(address, depth);
      if (depth + 1 === prefixLen) return index;
      const record = this.#record(index);
      if (isNode(record)) {
        node = record;
      } else {
        node = this.#newNode(record);
        this.#setRecord(index, node);
      }
    }
  }

  /** A node whose two halves both carry `record`: a network split to make room for one inside it. */
  #newNode(record: number): number {
    const node = this.#nodeCount++;
    // Record values at and above DATA are data offsets (2^31 nodes would take 16 GiB: a limit kept, not reached).
    if (node >= DATA) throw new RangeError('a tree of 2^31 nodes is past what this writer holds');
    if ((2 * node) >>> BLOCK_SHIFT === this.#blocks.length) this.#blocks.push(new Uint32Array(1 << BLOCK_SHIFT));
    this.#setRecord(2 * node, record);
    this.#setRecord(2 * node + 1, record);
    return node;
  }

  #record(index: number): number {
    return this.#blocks[index >>> BLOCK_SHIFT]![index & BLOCK_MASK]!;
  }

  #setRecord(index: number, value: number): void {
    this.#blocks[index >>> BLOCK_SHIFT]![index & BLOCK_MASK] = value;
  }
}
