import { Command, Option } from 'commander';
import { InputError } from '../../errors.ts';
import { writeAtomically } from '../../export/atomic-file.ts';
import { EXPORT_FORMATS, exportFile, type ExportFormat } from '../../export/formats.ts';
import { DEFAULT_SET_NAME, SET_NAME_PATTERN } from '../../export/set-names.ts';
import { limitedRecords } from '../../export/size-limit.ts';
import { addFilterOptions, listFilter, type FilterOptions } from '../list-filters.ts';
import { withStore } from '../run.ts';

export const exportCommand = new Command('export')
  .description('write the records matching every given label and inside a prefix to a file for a firewall, proxy or CDN')
  .addOption(new Option('--format <format>', 'the file to write').choices(EXPORT_FORMATS).makeOptionMandatory())
  .requiredOption('--out <file>', 'where to write it: replaced whole, never seen half written (a temporary file renamed over it)')
  .option('--max <n>', 'refuse (exit 2, nothing written) when more than n records match')
  .option('--name <name>', `ipset and nft: the sets' name (default ${DEFAULT_SET_NAME})`, DEFAULT_SET_NAME);

addFilterOptions(exportCommand);

exportCommand.action(async (opts: FilterOptions & { format: ExportFormat; out: string; max?: string; name: string }) => {
  if (opts.max !== undefined && !/^\d+$/.test(opts.max))
    throw new InputError(`--max must be a whole number of records, not ${JSON.stringify(opts.max)}`);
  if (!new RegExp(SET_NAME_PATTERN).test(opts.name)) {
    throw new InputError(`--name must be a letter, then up to 27 letters, digits or underscores, not ${JSON.stringify(opts.name)}`);
  }
  const filter = listFilter(opts);
  await withStore(async ({ store }) => {
    const limit = opts.max === undefined ? Infinity : Number(opts.max);
    // No server to protect: the count is exact (and sizes ipset's sets).
    const { count, records } = await limitedRecords(store, filter, {
      limit,
      source: `--max ${opts.max}`,
      countUpTo: Number.MAX_SAFE_INTEGER,
    });
    await writeAtomically(opts.out, exportFile(records, opts.format, { setName: opts.name, records: count, builtAt: new Date() }));
  });
});
