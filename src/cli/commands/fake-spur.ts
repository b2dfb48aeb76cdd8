import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Command } from 'commander';
import { startFakeSpur, type FakeSpurFaults } from '../../spur/fake-server.ts';
import { FEED_TYPES } from '../../feed/feed-types.ts';
import { InputError } from '../../errors.ts';

const count = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InputError(`not a count: ${v}`);
  return n;
};

export const fakeSpurCommand = new Command('fake-spur')
  .description(
    "serve FEEDS/{feed_type}/{YYYYMMDD}/feed.json.gz and FEEDS/{feed_type}/realtime/{YYYYMMDD}/{HHMM}.json.gz over Spur's download protocol on loopback, for local development",
  )
  .requiredOption('--dir <feeds>', 'feeds directory')
  .option('--port <port>', 'port (0: any free one)', count, 8081)
  .option('--token <token>', 'token to require (default: a random one, printed)')
  .option('--fail-first <n>', 'answer 500 to the first N requests of each path', count)
  .option('--cut-after-bytes <n>', 'cut every file download after N bytes', count)
  .option('--trickle <bytesPerSecond>', 'send files at this rate', count)
  .action(async (opts: { dir: string; port: number; token?: string; failFirst?: number; cutAfterBytes?: number; trickle?: number }) => {
    const token = opts.token ?? randomBytes(12).toString('hex');
    const faults: FakeSpurFaults = { failFirst: opts.failFirst, cutAfterBytes: opts.cutAfterBytes, trickleBytesPerSecond: opts.trickle };
    const server = await startFakeSpur({
      dir: opts.dir,
      token,
      port: opts.port,
      faults: Object.fromEntries(FEED_TYPES.map((feed) => [feed, faults])),
    });
    process.stdout.write(
      `fake Spur feed server on ${server.url}, serving ${opts.dir} (Ctrl-C to stop)\n` +
        `  SPUR_FEED_BASE_URL=${server.url} SPUR_API_TOKEN=${token} npm run ipoid -- update\n`,
    );
    await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
    await server.close();
  });
