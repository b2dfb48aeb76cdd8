import { Command } from 'commander';
import { parseIp, parseIpOrNetwork, type CanonicalIp } from '../../feed/ip.ts';
import { addressHistory, lookupAsOf } from '../../history/as-of.ts';
import { allChanges, checkSpan } from '../../history/changes.ts';
import { dateOfDay, parseFeedDay } from '../../history/feed-day.ts';
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
  .option('--at <date>', 'as the data stood at the end of this feed day (YYYY-MM-DD, within IPOID_HISTORY_DAYS)')
  .action(async (ip: string, opts: { at?: string }) => {
    const address = parseIp(ip);
    const day = opts.at === undefined ? undefined : parseFeedDay(opts.at, '--at');
    await withStore(async ({ store }) => {
      const found =
        day === undefined
          ? (await store.lookup(address)).map((record) => ({ record, day: undefined }))
          : (await lookupAsOf(store, address, day)).found;
      if (found.length === 0) throw new NotFoundError(`${ip}: not found${opts.at ? ` on ${opts.at}` : ''}`);
      for (const { record, day: feedDay } of found)
        printJson({ ...recordLine(record), ...(feedDay ? { feed_date: dateOfDay(feedDay) } : {}) });
    });
  });

export const historyCommand = new Command('history')
  .description("print an IP's records over the kept history: one JSON line per key and feed, with each record's first and last feed day")
  .argument('<ip>', 'IPv4 or IPv6 address, any spelling')
  .action(async (ip: string) => {
    const address = parseIp(ip);
    await withStore(async ({ store }) => {
      const { keys } = await addressHistory(store, address);
      if (keys.length === 0) throw new NotFoundError(`${ip}: not in the data within the kept history`);
      for (const { key, feed, versions, labels } of keys) {
        printJson({
          ip: key,
          feed,
          versions: versions.map(({ first, last, lastUpdated, json }) => ({
            first,
            last,
            last_updated: lastUpdated,
            context: JSON.parse(json) as unknown,
          })),
          labels: labels.map(({ kind, value, firstSeen, lastSeen }) => ({ kind, value, first_seen: firstSeen, last_seen: lastSeen })),
        });
      }
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

/** The label filters, prefix and limit common to `list` and `changes`. */
function filtersOf(opts: Record<string, string | number | undefined>): { labels: LabelFilter[]; within?: CanonicalIp; limit: number } {
  const labels: LabelFilter[] = LABEL_OPTIONS.flatMap(([flag, kind]) => {
    const value = opts[optionKey(flag)];
    return typeof value === 'string' ? [{ kind, value }] : [];
  });
  const within = typeof opts.prefix === 'string' ? parseIpOrNetwork(opts.prefix) : undefined;
  const limit = typeof opts.limit === 'number' ? opts.limit : Infinity;
  if (Number.isNaN(limit) || limit < 0) throw new InputError('--limit must be a non-negative integer');
  return { labels, within, limit };
}

listCommand.action(async (opts: Record<string, string | number | undefined>) => {
  const { limit, ...filter } = filtersOf(opts);
  await withStore(async ({ store }) => {
    for await (const record of listAll(store, filter, limit)) printJson(recordLine(record));
  });
});

export const changesCommand = new Command('changes')
  .description('print the keys added, removed and changed between two feed days, as JSON lines in address order')
  .requiredOption('--since <date>', 'changes after the end of this feed day (YYYY-MM-DD, within IPOID_HISTORY_DAYS)')
  .option('--until <date>', 'up to the end of this feed day (default: the newest data)')
  .option('--prefix <cidr>', 'only addresses inside this network, e.g. 203.0.113.0/24')
  .option('--limit <n>', 'stop after n changes', (v) => Number.parseInt(v, 10));

for (const [flag, , help] of LABEL_OPTIONS) changesCommand.option(flag, `${help} (before or after)`);

changesCommand.action(async (opts: Record<string, string | number | undefined>) => {
  const { limit, ...filter } = filtersOf(opts);
  const since = parseFeedDay(String(opts.since), '--since');
  const until = typeof opts.until === 'string' ? parseFeedDay(opts.until, '--until') : undefined;
  await withStore(async ({ store }) => {
    await checkSpan(store, since, until);
    let left = limit;
    for await (const change of allChanges(store, { ...filter, since, until })) {
      if (left-- <= 0) break;
      printJson({
        ip: change.key,
        feed: change.feed,
        change: change.change,
        before: change.before?.context ?? null,
        after: change.after?.context ?? null,
      });
    }
  });
});
