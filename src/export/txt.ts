import { cidrText, type Cidr } from './cidr-ranges.ts';

/** One address or CIDR a line: a single address without its /32 or /128. */
export async function* txtLines(cidrs: AsyncIterable<Cidr>): AsyncGenerator<string> {
  for await (const cidr of cidrs) yield `${cidrText(cidr)}\n`;
}
