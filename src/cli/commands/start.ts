import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { loadApiConfig } from '../../api/config.ts';
import { listenApi } from '../../api/listen.ts';
import { runGenerate } from '../../generator/index.ts';
import { loadImportConfig } from '../../config.ts';
import { importFeed } from '../../import/importer.ts';
import { withStore } from '../run.ts';

const DEMO_FEED = 'data/demo-feed.json.gz';
const DEMO_RECORDS = 20_000;

export const startCommand = new Command('start')
  .description('the quick start: import a feed (a generated demo feed when none is given), then serve the API until Ctrl-C')
  .option('--feed <file>', 'feed file to import instead of the demo feed')
  .option('--force', 'import the feed whatever share of the stored records it changes (IPOID_MAX_CHANGE_RATIO)')
  .action(async (opts: { feed?: string; force?: boolean }) => {
    const config = loadApiConfig();
    await withStore(
      async ({ store, logger }) => {
        const feed = opts.feed ?? DEMO_FEED;
        if (!opts.feed && !existsSync(DEMO_FEED)) {
          logger.info({ file: DEMO_FEED, records: DEMO_RECORDS }, 'generating a demo feed');
          await runGenerate({ count: DEMO_RECORDS, seed: 1, out: DEMO_FEED });
        }
        const run = await importFeed(store, feed, { feed: 'anonymous', logger, progress: true, force: opts.force, ...loadImportConfig() });
        logger.info({ inserted: run.inserted, updated: run.updated, deleted: run.deleted, skipped: run.skipped }, 'imported');
        const { url, stopped } = await listenApi(store, logger, config);
        const [sample] = (await store.list({ labels: [], limit: 1 })).records;
        // A network's key is "addr/len": its first address is the one to look up.
        const sampleIp = sample?.key.replace(/\/\d+$/, '') ?? '1.1.1.1';
        const auth = config.tokens.length > 0 ? ' -H "Authorization: Bearer $TOKEN"' : '';
        process.stdout.write(
          `IPoid API on ${url} (Ctrl-C to stop)\n` +
            `  web console: ${url}/ui/\n` +
            `  curl${auth} ${url}/feed/v1/ip/${sampleIp}\n` +
            `  API description: ${url}/openapi.json\n`,
        );
        await stopped;
      },
      { poolSize: config.dbPoolSize },
    );
  });
