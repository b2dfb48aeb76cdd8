import { cidrFamily, cidrText, type Cidr } from './cidr-ranges.ts';

/** ipset's own default: a set never gets a smaller limit than a hand-made one would. */
const MIN_MAXELEM = 65536;

/**
 * An `ipset restore` file: two hash:net sets (one family each, as a hash:net set has one),
 * `name` for IPv4 and `name6` for IPv6, then one `add` per CIDR. `-exist` makes the file
 * loadable again over sets of the same parameters; `maxEntries` bounds the entries (the
 * matching records, which no fewer CIDRs than exceed) and sizes maxelem.
 */
export async function* ipsetLines(cidrs: AsyncIterable<Cidr>, name: string, maxEntries: number): AsyncGenerator<string> {
  const sets = { 4: name, 6: `${name}6` };
  const maxelem = Math.max(maxEntries, MIN_MAXELEM);
  yield `create ${sets[4]} hash:net family inet maxelem ${maxelem} -exist\n`;
  yield `create ${sets[6]} hash:net family inet6 maxelem ${maxelem} -exist\n`;
  for await (const cidr of cidrs) yield `add ${sets[cidrFamily(cidr)]} ${cidrText(cidr)} -exist\n`;
}
