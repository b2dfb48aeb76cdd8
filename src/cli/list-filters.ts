import type { Command } from 'commander';
import { parseIpOrNetwork } from '../feed/ip.ts';
import type { LabelKind } from '../feed/record.ts';
import type { LabelFilter, ListFilter } from '../store/types.ts';

/*
 * The options of the commands that list records (`list`, `changes`, `export`): a label
 * filter per kind and a prefix, as the HTTP list route's parameters.
 */

/** Options as commander gives them: strings, and numbers where an option parses its value. */
export type FilterOptions = Record<string, string | number | undefined>;

/** The label options and the label kind each filters on. */
const LABEL_OPTIONS: [flag: string, kind: LabelKind, help: string][] = [
  ['--operator <name>', 'operator', 'tunnel operator, e.g. NORD_VPN'],
  ['--tunnel-type <type>', 'tunnel_type', 'VPN, PROXY or TOR'],
  ['--risk <risk>', 'risk', 'e.g. TUNNEL, CALLBACK_PROXY'],
  ['--behavior <behavior>', 'behavior', 'client behavior, e.g. FILE_SHARING'],
  ['--proxy <name>', 'proxy', 'client proxy, e.g. LUMINATI_PROXY'],
  ['--type <type>', 'client_type', 'client type, e.g. MOBILE'],
  ['--service <service>', 'service', 'e.g. OPENVPN'],
  ['--infrastructure <kind>', 'infrastructure', 'e.g. DATACENTER'],
  ['--country <code>', 'country', 'location country, e.g. US'],
];

const optionKey = (flag: string): string => flag.slice(2, flag.indexOf(' ')).replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/** Adds --prefix and the label options, each label's help followed by `labelNote`. */
export function addFilterOptions(command: Command, labelNote = ''): void {
  command.option('--prefix <cidr>', 'only addresses inside this network, e.g. 203.0.113.0/24');
  for (const [flag, , help] of LABEL_OPTIONS) command.option(flag, `${help}${labelNote}`);
}

/** The filter the options name. */
export function listFilter(opts: FilterOptions): ListFilter {
  const labels: LabelFilter[] = LABEL_OPTIONS.flatMap(([flag, kind]) => {
    const value = opts[optionKey(flag)];
    return typeof value === 'string' ? [{ kind, value }] : [];
  });
  return { labels, within: typeof opts.prefix === 'string' ? parseIpOrNetwork(opts.prefix) : undefined };
}
