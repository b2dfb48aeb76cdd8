import type { StoredRecord } from '../../store/types.ts';
import { DataSection } from './data-section.ts';
import { metadataSection } from './metadata.ts';
import { withEnclosing } from './nesting.ts';
import { networkData } from './network-data.ts';
import { DATA_SECTION_SEPARATOR, SearchTree } from './tree.ts';

/*
 * A MaxMind DB file (binary format 2.0, https://maxmind.github.io/MaxMind-DB/), written here
 * from the specification: npm has no maintained writer (MaxMind's own is for Go; its Perl one
 * is deprecated). The file is an IPv6 tree; IPoid stores IPv4 IPv4-mapped (::ffff:a.b.c.d),
 * and so does the tree, but readers look an IPv4 address up under ::a.b.c.d (the first 96
 * bits zero), so ::/96 leads to the same subtree as ::ffff:0:0/96. The IPv4-compatible
 * addresses of ::/96 therefore answer as the IPv4 address they end with, and stored IPv6
 * keys inside ::/96 are left out: a file readable by IPv4 lookups has no place for them.
 *
 * The tree must be whole before its first byte (its size sets the record size and every data
 * pointer), and the data section follows it; both are held until the input ends, then written
 * in chunks, so the first byte comes once the last record is read. Held per million networks
 * that mostly carry a data map of their own (bench/mmdb.ts, 8 bytes a tree node): random IPv4
 * addresses 183 MiB (a 139 MiB file), half IPv4 addresses half IPv6 /64s 302 MiB (243 MiB),
 * IPv6 /64s 405 MiB (332 MiB): the nodes a random /64 needs below its neighbours dominate.
 */

const IPV4_PREFIX = 96;
const IPV4_COMPATIBLE = Buffer.alloc(16);
const IPV4_MAPPED = Buffer.from('00000000000000000000ffff00000000', 'hex');
// The data section is yielded in views of this size: a consumer writes it piece by piece.
const DATA_CHUNK = 1024 * 1024;

const inIpv4Compatible = (bytes: Buffer, prefixLen: number) =>
  prefixLen >= IPV4_PREFIX && bytes.subarray(0, 12).equals(IPV4_COMPATIBLE.subarray(0, 12));

/**
 * A MaxMind DB file of the records (in address order, as listAll yields them), as chunks.
 * Each network carries what `GET /feed/v1/ip/{ip}` answers for an address in it (see
 * network-data.ts); a network inside another carries the merge of both, the rest of the
 * enclosing one its own.
 */
export async function* mmdbFile(
  records: AsyncIterable<StoredRecord>,
  options: { description: string; buildEpoch: Date },
): AsyncIterable<Buffer> {
  const tree = new SearchTree();
  const data = new DataSection();
  for await (const { key, merged } of withEnclosing(records)) {
    if (inIpv4Compatible(key.bytes, key.prefixLen)) continue;
    tree.insert(key.bytes, key.prefixLen, data.add(networkData(merged, key.key)));
  }
  tree.alias(IPV4_COMPATIBLE, IPV4_MAPPED, IPV4_PREFIX);

  const recordSize = tree.recordSize(data.size);
  yield* tree.chunks(recordSize);
  yield Buffer.alloc(DATA_SECTION_SEPARATOR);
  const section = data.bytes;
  for (let start = 0; start < section.length; start += DATA_CHUNK) yield section.subarray(start, start + DATA_CHUNK);
  yield metadataSection({ nodeCount: tree.nodeCount, recordSize, description: options.description, buildEpoch: options.buildEpoch });
}
