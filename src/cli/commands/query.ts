import { Command } from 'commander';
import { parseIp } from '../../feed/ip.ts';
import { addressHistory, lookupAsOf } from '../../history/as-of.ts';
import { allChanges, checkSpan } from '../../history/changes.ts';
import { dateOfDay, parseFeedDay } from '../../history/feed-day.ts';
import { listAll } from '../../store/list-all.ts';
import type { ListFilter, StoredRecord } from '../../store/types.ts';
import { InputError, NotFoundError } from '../../errors.ts';
import { addFilterOptions, listFilter, type FilterOptions } from '../list-filters.ts';
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

export const listCommand = new Command('list')
  .description('print the stored records matching every given label and inside a prefix, as JSON lines in address order')
  .option('--limit <n>', 'stop after n records', (v) => Number.parseInt(v, 10));

addFilterOptions(listCommand);

/** The label filters, prefix and limit common to `list` and `changes`. */
function filtersOf(opts: FilterOptions): ListFilter & { limit: number } {
  const limit = typeof opts.limit === 'number' ? opts.limit : Infinity;
  if (Number.isNaN(limit) || limit < 0) throw new InputError('--limit must be a non-negative integer');
  return { ...listFilter(opts), limit };
}

listCommand.action(async (opts: FilterOptions) => {
  const { limit, ...filter } = filtersOf(opts);
  await withStore(async ({ store }) => {
    for await (const record of listAll(store, filter, limit)) printJson(recordLine(record));
  });
});

export const changesCommand = new Command('changes')
  .description('print the keys added, removed and changed between two feed days, as JSON lines in address order')
  .requiredOption('--since <date>', 'changes after the end of this feed day (YYYY-MM-DD, within IPOID_HISTORY_DAYS)')
  .option('--until <date>', 'up to the end of this feed day (default: the newest data)')
  .option('--limit <n>', 'stop after n changes', (v) => Number.parseInt(v, 10));

addFilterOptions(changesCommand, ' (before or after)');

changesCommand.action(async (opts: FilterOptions) => {
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
