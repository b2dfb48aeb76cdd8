import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { loadImportConfig } from '../../config.ts';
import { importFeed } from '../../import/importer.ts';
import { parseSkippedRatio } from '../../import/skip-limit.ts';
import { FEED_TYPES, type FeedType } from '../../feed/feed-types.ts';
import { InputError } from '../../errors.ts';
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
  .action(async (file: string, opts: { feedType: FeedType; feedDate?: string; maxSkippedRatio?: number }) => {
    const maxSkippedRatio = opts.maxSkippedRatio ?? badInput(() => loadImportConfig().maxSkippedRatio);
    await withStore(async ({ store, logger }) => {
      const run = await importFeed(store, file, {
        feed: opts.feedType,
        feedDate: opts.feedDate ?? feedDateFromName(file),
        logger,
        progress: true,
        maxSkippedRatio,
      });
      const { skippedSample, ...summary } = run;
      logger.info(summary, 'import finished');
      printJson({ ...summary, skippedSample: skippedSample.slice(0, 10) });
    });
  });

export const importsCommand = new Command('imports')
  .description('list the latest import runs, newest first, as JSON lines')
  .option('--limit <n>', 'how many runs', (v) => Number.parseInt(v, 10), 20)
  .action(async (opts: { limit: number }) => {
    await withStore(async ({ store }) => {
      for (const run of await store.importRuns(opts.limit)) printJson(run);
    });
  });
