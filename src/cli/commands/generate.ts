import { Command } from 'commander';
import { runGenerate } from '../../generator/index.ts';
import { InputError } from '../../errors.ts';
import { printJson } from '../run.ts';

const integer = (v: string): number => Number.parseInt(v, 10);

export const generateCommand = new Command('generate')
  .description('write a deterministic, realistic synthetic feed (or the next day of a previous one) for tests and benchmarks')
  .requiredOption('--out <file>', 'output file; gzip-compressed when it ends in .gz')
  .option('--count <n>', 'number of records (new feed)', integer)
  .option('--seed <n>', 'random seed: the same seed writes the same file', integer, 1)
  .option('--from <file>', 'previous feed: write its next day instead of a new feed')
  .option('--churn <fraction>', 'with --from: fraction of records removed, changed and added (a third each)', Number.parseFloat, 0.05)
  .action(async (opts: { out: string; count?: number; seed: number; from?: string; churn: number }) => {
    if (!opts.from && !(opts.count && opts.count > 0)) throw new InputError('give --count N (or --from FILE for a next-day feed)');
    if (!(opts.churn >= 0 && opts.churn <= 1)) throw new InputError('--churn must be between 0 and 1');
    // The summary states the exact changes an import of this file will find.
    printJson(await runGenerate(opts));
  });
