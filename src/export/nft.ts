import { cidrFamily, cidrText, type Cidr } from './cidr-ranges.ts';

// Elements per `add element` statement: nft reads one statement whole, so keep each modest.
const ELEMENTS_PER_STATEMENT = 1000;

/**
 * An `nft -f` file: table inet `name` with two interval sets, `name_v4` and `name_v6`, emptied
 * and filled again. nft applies a file as one transaction, so a reload swaps the sets' contents
 * atomically: a rule matching `@name_v4` never sees them half loaded. Elements come in address
 * order, IPv4 (inside ::ffff:0:0/96) between IPv6 ones, hence `add element` statements per
 * family rather than one `elements = { }` list each.
 */
export async function* nftLines(cidrs: AsyncIterable<Cidr>, name: string): AsyncGenerator<string> {
  const sets = { 4: `${name}_v4`, 6: `${name}_v6` };
  yield `table inet ${name} {\n`;
  yield `\tset ${sets[4]} {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}\n`;
  yield `\tset ${sets[6]} {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t}\n`;
  yield '}\n';
  yield `flush set inet ${name} ${sets[4]}\n`;
  yield `flush set inet ${name} ${sets[6]}\n`;
  const pending: Record<4 | 6, string[]> = { 4: [], 6: [] };
  const statement = (family: 4 | 6) => `add element inet ${name} ${sets[family]} { ${pending[family].splice(0).join(', ')} }\n`;
  for await (const cidr of cidrs) {
    const family = cidrFamily(cidr);
    pending[family].push(cidrText(cidr));
    if (pending[family].length === ELEMENTS_PER_STATEMENT) yield statement(family);
  }
  for (const family of [4, 6] as const) if (pending[family].length > 0) yield statement(family);
}
