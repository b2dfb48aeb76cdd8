/*
 * One measured import, in a process of its own so that its peak RSS is the importer's alone.
 * Prints one JSON line: seconds, peak RSS and the run summary.
 */
import { importFeed } from '../src/import/importer.ts';
import { createLogger } from '../src/log.ts';
import { openStore } from '../src/store/open.ts';

const [url, file] = process.argv.slice(2);
if (!url || !file) throw new Error('usage: import-worker DB_URL FEED_FILE');

const store = await openStore(url);
const started = process.hrtime.bigint();
const run = await importFeed(store, file, { feed: 'anonymous', logger: createLogger('warn') });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await store.close();
const { skippedSample, ...summary } = run;
process.stdout.write(`${JSON.stringify({ seconds, peakRssMb: process.resourceUsage().maxRSS / 1024, ...summary })}\n`);
