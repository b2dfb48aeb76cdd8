import { Command } from 'commander';
import { parseIp, parseIpOrNetwork } from '../../feed/ip.ts';
import type { LabelKind } from '../../feed/record.ts';
import { listAll } from '../../store/list-all.ts';
import type { LabelFilter, StoredRecord } from '../../store/types.ts';
import { InputError, NotFoundError } from '../../errors.ts';
import { printJson, withStore } from '../run.ts';

function recordLine(record: StoredRecord): object {
  return { ip: record.key, feed: record.feed, last_updated: record.lastUpdated, context: record.context };
}

export const lookupCommand = new Command('lookup')
  .description('print what is stored for an IP (and any stored network containing it), one JSON line per feed')
  .argument('<ip>', 'IPv4 or IPv6 address, any spelling')
  .action(async (ip: string) => {
    await withStore(async ({ store }) => {
      const records = await store.lookup(parseIp(ip));
      if (records.length === 0) throw new NotFoundError(`${ip}: not found`);
      for (const record of records) printJson(recordLine(record));
    });
  });

/** `list` options and the label kind each filters on. */
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

export const listCommand = new Command('list')
  .description('print the stored records matching every given label and inside a prefix, as JSON lines in address order')
  .option('--prefix <cidr>', 'only addresses inside this network, e.g. 203.0.113.0/24')
  .option('--limit <n>', 'stop after n records', (v) => Number.parseInt(v, 10));

for (const [flag, , help] of LABEL_OPTIONS) listCommand.option(flag, help);

listCommand.action(async (opts: Record<string, string | number | undefined>) => {
  const labels: LabelFilter[] = LABEL_OPTIONS.flatMap(([flag, kind]) => {
    const value = opts[optionKey(flag)];
    return typeof value === 'string' ? [{ kind, value }] : [];
  });
  const within = typeof opts.prefix === 'string' ? parseIpOrNetwork(opts.prefix) : undefined;
  const limit = typeof opts.limit === 'number' ? opts.limit : Infinity;
  if (Number.isNaN(limit) || limit < 0) throw new InputError('--limit must be a non-negative integer');
  await withStore(async ({ store }) => {
    for await (const record of listAll(store, { labels, within }, limit)) printJson(recordLine(record));
  });
});
