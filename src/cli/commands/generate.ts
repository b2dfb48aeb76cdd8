import { Command } from 'commander';
import { runGenerate, runRealtime } from '../../generator/index.ts';
import { InputError } from '../../errors.ts';
import { printJson } from '../run.ts';

const integer = (v: string): number => Number.parseInt(v, 10);

interface GenerateFlags {
  out: string;
  count?: number;
  seed: number;
  from?: string;
  churn: number;
  realtime?: boolean;
  slots?: number;
  recordsPerSlot?: number;
  date?: string;
}

export const generateCommand = new Command('generate')
  .description(
    'write a deterministic, realistic synthetic feed (or the next day of a previous one, or its realtime updates) for tests and benchmarks',
  )
  .requiredOption('--out <file>', 'output file; gzip-compressed when it ends in .gz (with --realtime: a directory)')
  .option('--count <n>', 'number of records (new feed)', integer)
  .option('--seed <n>', 'random seed: the same seed writes the same file', integer, 1)
  .option('--from <file>', 'previous feed: write its next day instead of a new feed (with --realtime: the day file the updates apply to)')
  .option('--churn <fraction>', 'with --from: fraction of records removed, changed and added (a third each)', Number.parseFloat, 0.05)
  .option('--realtime', 'write realtime updates of --from, a file every 5 minutes from 00:00 UTC, as DIR/YYYYMMDD/HHMM.json.gz')
  .option('--slots <n>', 'with --realtime: number of 5-minute files (default 288, a day)', integer)
  .option('--records-per-slot <n>', 'with --realtime: lines per file (default 10000)', integer)
  .option('--date <YYYY-MM-DD>', "with --realtime: the first file's day (default: the name of --from's directory, when it is YYYYMMDD)")
  .action(async (opts: GenerateFlags, command: Command) => {
    if (opts.realtime) return printJson(await runRealtime(realtimeOptions(opts, command)));
    if (opts.slots !== undefined || opts.recordsPerSlot !== undefined || opts.date !== undefined) {
      throw new InputError('--slots, --records-per-slot and --date go with --realtime');
    }
    if (!opts.from && !(opts.count && opts.count > 0)) throw new InputError('give --count N (or --from FILE for a next-day feed)');
    if (!(opts.churn >= 0 && opts.churn <= 1)) throw new InputError('--churn must be between 0 and 1');
    // The summary states the exact changes an import of this file will find.
    printJson(await runGenerate(opts));
  });

function realtimeOptions(opts: GenerateFlags, command: Command): Parameters<typeof runRealtime>[0] {
  if (!opts.from) throw new InputError('--realtime needs --from DAY_FILE: the full file the updates apply to');
  if (opts.count !== undefined)
    throw new InputError('--count cannot be combined with --realtime: each file holds --records-per-slot lines');
  if (command.getOptionValueSource('churn') === 'cli') throw new InputError('--churn cannot be combined with --realtime');
  for (const [flag, value] of [
    ['--slots', opts.slots],
    ['--records-per-slot', opts.recordsPerSlot],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) throw new InputError(`${flag} must be a positive integer`);
  }
  const { from, out, seed, slots, recordsPerSlot, date } = opts;
  return { from, out, seed, slots, recordsPerSlot, date };
}
