import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { loadImportConfig } from '../../config.ts';
import { EXIT, InputError } from '../../errors.ts';
import { FEED_TYPES, type FeedType } from '../../feed/feed-types.ts';
import { importFeed, ImportRefusedError } from '../../import/importer.ts';
import { parseChangeRatio, parseSkippedRatio } from '../../import/limits.ts';
import type { ImportRunSummary } from '../../store/types.ts';
import { feedSummary } from '../../store/feed-status.ts';
import { yieldCpuToReaders } from '../batch-priority.ts';
import { printJson, withStore } from '../run.ts';

/** A YYYYMMDD or YYYY-MM-DD date in the file's name, as Spur names its files. */
export function feedDateFromName(path: string): string | null {
  const m = /(20\d{2})-?(\d{2})-?(\d{2})/.exec(basename(path));
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

/** A setting that does not parse is the user's to fix: exit 2, before the store is opened. */
function badInput<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

/** A run as the command prints it: the summary with the first skipped lines. */
function printRun({ skippedSample, ...summary }: ImportRunSummary): void {
  printJson({ ...summary, skippedSample: skippedSample.slice(0, 10) });
}

/** What a dry run found: the counts an import would apply and whether the change limit would stop it. */
function printDryRun(run: ImportRunSummary): void {
  const { feed, feedDate, file, linesRead, skipped, inserted, updated, deleted, records, status, error, skippedSample } = run;
  const refused = status === 'refused';
  printJson({
    dryRun: true,
    feed,
    feedDate,
    file,
    linesRead,
    skipped,
    inserted,
    updated,
    deleted,
    recordsBefore: records - inserted + deleted,
    records,
    refused,
    error,
    skippedSample: skippedSample.slice(0, 10),
  });
  // Exits as the import would, so that a script can ask "would it pass?".
  if (refused) process.exitCode = EXIT.refused;
}

interface ImportCommandOptions {
  feedType: FeedType;
  feedDate?: string;
  maxSkippedRatio?: number;
  maxChangeRatio?: number;
  force?: boolean;
  dryRun?: boolean;
}

export const importCommand = new Command('import')
  .description('import a feed file (.json.gz or JSON lines), applying only the difference from the stored data')
  .argument('<file>', 'feed file')
  .addOption(new Option('--feed-type <type>', 'which Spur feed the file is').choices(FEED_TYPES).default('anonymous'))
  .option('--feed-date <date>', 'generation date of the feed (YYYY-MM-DD); default: a date in the file name')
  .option(
    '--max-skipped-ratio <ratio>',
    'fail and keep the stored data when more than this share of lines is skipped (default: IPOID_MAX_SKIPPED_RATIO, else 0.01)',
    (text: string) => badInput(() => parseSkippedRatio(text, '--max-skipped-ratio')),
  )
  .option(
    '--max-change-ratio <ratio>',
    'refuse the import, keeping the stored data, when it would delete or update more than this share of the stored records (default: IPOID_MAX_CHANGE_RATIO, else 0.25)',
    (text: string) => badInput(() => parseChangeRatio(text, '--max-change-ratio')),
  )
  .option('--force', 'apply the import whatever share of the stored records it changes')
  .option('--dry-run', 'compute the difference and print it, writing nothing (still waits for no other import)')
  .action(async (file: string, opts: ImportCommandOptions) => {
    const { maxSkippedRatio, maxChangeRatio } = badInput(() => loadImportConfig(process.env, opts));
    badInput(() => yieldCpuToReaders());
    await withStore(async ({ store, logger }) => {
      const run = await importFeed(store, file, {
        feed: opts.feedType,
        feedDate: opts.feedDate ?? feedDateFromName(file),
        logger,
        progress: true,
        maxSkippedRatio,
        maxChangeRatio,
        force: opts.force,
        dryRun: opts.dryRun,
      }).catch((err: unknown) => {
        // A refused run has the counts it would have applied: worth printing, as a summary.
        if (err instanceof ImportRefusedError) printRun(err.run);
        throw err;
      });
      if (opts.dryRun) return printDryRun(run);
      const { skippedSample: _sample, ...summary } = run;
      logger.info(summary, 'import finished');
      printRun(run);
    });
  });

export const importsCommand = new Command('imports')
  .description('list the latest import runs (full files and realtime slots), newest first, as JSON lines')
  .option('--limit <n>', 'how many runs', (v) => Number.parseInt(v, 10), 20)
  .option('--feeds', "instead, one line per feed: its full file's date, its age, its newest realtime slot (as /_info)")
  .action(async (opts: { limit: number; feeds?: boolean }) => {
    await withStore(async ({ store }) => {
      if (opts.feeds) for (const status of await store.feedStatus()) printJson(feedSummary(status));
      else for (const run of await store.importRuns({ limit: opts.limit })) printJson(run);
    });
  });
