import { addressText } from '../feed/ip.ts';
import type { LabelCount, PrefixDensity, PrefixQuery, StoredLabel } from './types.ts';

/*
 * Store.prefixes in both stores: the database groups the matching records by prefix (the
 * first `headBytes` bytes of the address and the bits of the next one that `tailMask` keeps,
 * which SQL can cut from a 16-byte key without a function of its own) and keeps the densest;
 * then the records of those prefixes are read again, by key range, for their labels.
 */

const IPV4_OFFSET = 96;
/** The IPv4-mapped addresses, ::ffff:0.0.0.0 to ::ffff:255.255.255.255: IPv4 is inside, IPv6 outside. */
const IPV4_RANGE: [Buffer, Buffer] = [
  Buffer.from('00000000000000000000ffff00000000', 'hex'),
  Buffer.from('00000000000000000000ffffffffffff', 'hex'),
];

export interface PrefixGrouping {
  family: 4 | 6;
  /** The prefix length within the family. */
  length: number;
  /** The prefix length in the 128-bit space; a record counts when its own is at least this. */
  bits: number;
  headBytes: number;
  tailMask: number;
}

export function prefixGrouping(query: PrefixQuery): PrefixGrouping {
  const { family, length } = query;
  const bits = family === 4 ? length + IPV4_OFFSET : length;
  // A /128 (IPv4 /32) keeps the whole last byte as its tail.
  if (bits === 128) return { family, length, bits, headBytes: 15, tailMask: 0xff };
  return { family, length, bits, headBytes: bits >> 3, tailMask: (0xff00 >> (bits & 7)) & 0xff };
}

/** A scan's key: its alias, and its address column when not `${key}.ip` (with `bound`, the column's value of a 16-byte address). */
export interface ScanKey {
  key: string;
  ip?: string;
  bound?: (address: Buffer) => Buffer;
}

/** The condition, over a scan's key, that its record is of the family and at least as long as the prefixes. */
export function prefixFilter(
  query: PrefixQuery,
  { key, ip = `${key}.ip`, bound = (address) => address }: ScanKey,
): { sql: string; values: unknown[] } {
  const inside = query.family === 4 ? 'BETWEEN' : 'NOT BETWEEN';
  return { sql: `${ip} ${inside} ? AND ? AND ${key}.prefix_len >= ?`, values: [...IPV4_RANGE.map(bound), prefixGrouping(query).bits] };
}

/** The first and last address of the prefix a group names. */
export function prefixRange(grouping: PrefixGrouping, head: Buffer, tail: number): { first: Buffer; last: Buffer } {
  const first = Buffer.alloc(16);
  head.copy(first);
  first[grouping.headBytes] = tail;
  const last = Buffer.alloc(16, 0xff);
  head.copy(last);
  last[grouping.headBytes] = tail | (~grouping.tailMask & 0xff);
  return { first, last };
}

/** One prefix the database found dense enough, as its group. */
export interface PrefixGroup {
  head: Buffer;
  tail: number;
  count: number;
}

/** Counts, per prefix, the label ids of its records, and answers the prefixes in the groups' order. */
export class PrefixTally {
  readonly #grouping: PrefixGrouping;
  readonly #groups: readonly PrefixGroup[];
  readonly #labels = new Map<string, Map<number, number>>();

  constructor(grouping: PrefixGrouping, groups: readonly PrefixGroup[]) {
    this.#grouping = grouping;
    this.#groups = groups;
  }

  /** The key ranges to read the groups' records from, with the group each belongs to. */
  ranges(): { first: Buffer; last: Buffer; group: PrefixGroup }[] {
    return this.#groups.map((group) => ({ ...prefixRange(this.#grouping, group.head, group.tail), group }));
  }

  /** A record of the group `head`, `tail` with its label ids (ip_data.label_ids, as JSON text). */
  add(head: Buffer, tail: number, labelIds: string): void {
    const key = groupKey({ head, tail });
    let counts = this.#labels.get(key);
    if (!counts) this.#labels.set(key, (counts = new Map<number, number>()));
    for (const id of JSON.parse(labelIds) as number[]) counts.set(id, (counts.get(id) ?? 0) + 1);
  }

  /** The prefixes, naming their labels by `labels` (every label id the records carry). */
  result(labels: readonly StoredLabel[]): PrefixDensity[] {
    const byId = new Map(labels.map((label) => [label.id, label]));
    return this.#groups.map((group) => {
      const counts: LabelCount[] = [...(this.#labels.get(groupKey(group)) ?? [])].map(([id, count]) => {
        const label = byId.get(id)!;
        return { kind: label.kind, value: label.value, count };
      });
      counts.sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind) || a.value.localeCompare(b.value));
      const { first } = prefixRange(this.#grouping, group.head, group.tail);
      return { prefix: `${addressText(first, this.#grouping.family)}/${this.#grouping.length}`, count: group.count, labels: counts };
    });
  }
}

const groupKey = (group: Pick<PrefixGroup, 'head' | 'tail'>): string => `${group.head.toString('hex')}/${group.tail}`;
