import type { CanonicalIp } from '../feed/ip.ts';
import { ipv6Text } from './ipv6.ts';
import type { Random } from './random.ts';

/** IPv4 single `ip`, IPv6 single `ip`, or IPv6 /64 `network`. */
export type AddressKind = 'ipv4' | 'ipv6' | 'network6';

/*
 * Some clusters also list the block that holds them, as real feeds sometimes list a range
 * and addresses inside it: an IPv4 /24 network holding the cluster's single addresses, an
 * IPv6 /48 network holding its /64s. Lookups must then answer every containing record.
 */
const CONTAINING_IPV4_CHANCE = 0.03;
const CONTAINING_IPV6_CHANCE = 0.5;

/** Most records one cluster can hold: the usable hosts of an IPv4 /24. */
export const MAX_CLUSTER_SIZE = 254;

const TWO_POW_32 = 2 ** 32;
const NEIGHBOR_TRIES = 8;

/**
 * Hands out address blocks no other cluster uses, which is what keeps generated addresses
 * unique without remembering them: an IPv4 cluster owns a /24, an IPv6 cluster owns a /48.
 * Memory: a 2 MiB bitmap of /24s plus one number per IPv6 cluster.
 */
export class PrefixAllocator {
  private readonly ipv4Blocks = new Uint8Array(1 << 21);
  private readonly ipv6Blocks = new Set<number>();

  /** Marks the /24 (IPv4) or /48 (IPv6) holding `address` (a single IPv4 one may be a number) as taken, e.g. by a previous feed. */
  reserve(address: number | CanonicalIp): void {
    if (typeof address === 'number') this.takeIpv4(address >>> 8);
    else if (address.family === 4) this.takeIpv4(address.bytes.readUIntBE(12, 3));
    else this.ipv6Blocks.add(address.bytes.readUIntBE(0, 6));
  }

  /** A free /24, as its 24-bit block number, with a unicast first octet (1..223). */
  ipv4Block(rng: Random): number {
    for (;;) {
      const block = rng.int(1 << 16, (224 << 16) - 1);
      if (this.takeIpv4(block)) return block;
    }
  }

  /** A free /48 in 2000::/3 (global unicast, so never IPv4-mapped), as a 48-bit number. */
  ipv6Block(rng: Random): number {
    for (;;) {
      const block = rng.int(0x2000, 0x3fff) * TWO_POW_32 + rng.int(0, TWO_POW_32 - 1);
      if (!this.ipv6Blocks.has(block)) {
        this.ipv6Blocks.add(block);
        return block;
      }
    }
  }

  /** Marks a /24; false when it was already taken. */
  private takeIpv4(block: number): boolean {
    const bit = 1 << (block & 7);
    const byte = block >>> 3;
    if (this.ipv4Blocks[byte]! & bit) return false;
    this.ipv4Blocks[byte]! |= bit;
    return true;
  }
}

/**
 * `size` distinct addresses (at most MAX_CLUSTER_SIZE) in a fresh block, in ascending order;
 * sometimes the first is a network holding all the others (an IPv4 /24, an IPv6 /48).
 */
export function clusterAddresses(kind: AddressKind, size: number, rng: Random, allocator: PrefixAllocator): string[] {
  if (kind === 'ipv4') {
    const block = allocator.ipv4Block(rng);
    const container = size >= 2 && rng.chance(CONTAINING_IPV4_CHANCE) ? [`${ipv4Text(block * 256)}/24`] : [];
    return [...container, ...rng.sampleSorted(size - container.length, 1, 254).map((host) => ipv4Text(block * 256 + host))];
  }
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(allocator.ipv6Block(rng), 0, 6);
  if (kind === 'network6') {
    const container = size >= 2 && rng.chance(CONTAINING_IPV6_CHANCE) ? [`${ipv6Text(bytes)}/48`] : [];
    return [
      ...container,
      ...rng.sampleSorted(size - container.length, 0, 0xffff).map((subnet) => {
        bytes.writeUInt16BE(subnet, 6);
        return `${ipv6Text(bytes)}/64`;
      }),
    ];
  }
  // One /64 of the /48; hosts differ in the last 16 bits, like numbered VPN exits. Half the
  // clusters also fix random upper interface-id bits, as SLAAC-style addresses look.
  bytes.writeUInt16BE(rng.int(0, 0xffff), 6);
  if (rng.chance(0.5)) for (let i = 8; i < 14; i += 2) bytes.writeUInt16BE(rng.int(0, 0xffff), i);
  return rng.sampleSorted(size, 1, 0xffff).map((host) => {
    bytes.writeUInt16BE(host, 14);
    return ipv6Text(bytes);
  });
}

/** An address as a previous feed's index keys it: a single IPv4 address as a number, anything else as its canonical text. */
export type AddressKey = number | string;

/**
 * A free address next to `address` (same /24, same /64, or a /64 of the same /48), for a
 * range that grows overnight, with its key; undefined when the few tries all hit taken
 * addresses. A single IPv4 address may come as a number.
 */
export function neighborAddress(
  address: number | CanonicalIp,
  rng: Random,
  taken: (key: AddressKey) => boolean,
): { text: string; key: AddressKey } | undefined {
  for (let i = 0; i < NEIGHBOR_TRIES; i++) {
    const candidate = neighborCandidate(address, rng);
    if (candidate === undefined) return undefined;
    if (!taken(candidate.key)) return candidate;
  }
  return undefined;
}

function neighborCandidate(address: number | CanonicalIp, rng: Random): { text: string; key: AddressKey } | undefined {
  if (typeof address === 'number') {
    const value = (address >>> 8) * 256 + rng.int(1, 254);
    return { text: ipv4Text(value), key: value };
  }
  const bytes = Buffer.from(address.bytes);
  let text: string | undefined;
  if (address.family === 6 && address.prefixLen === 128) {
    bytes.writeUInt16BE(rng.int(1, 0xffff), 14);
    text = ipv6Text(bytes);
  } else if (address.family === 6 && address.prefixLen === 64) {
    bytes.writeUInt16BE(rng.int(0, 0xffff), 6);
    text = `${ipv6Text(bytes)}/64`;
  }
  return text === undefined ? undefined : { text, key: text };
}

export function ipv4Text(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}
