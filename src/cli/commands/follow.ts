import { Command } from 'commander';
import { createLogger } from '../../log.ts';
import { InputError } from '../../errors.ts';
import { Follower } from '../../realtime/follow.ts';
import { SpurClient } from '../../spur/client.ts';
import { loadFollowConfig, type FollowConfig } from '../../update/config.ts';
import { yieldCpuToReaders } from '../batch-priority.ts';
import { reportError, stopSignal, withStore } from '../run.ts';

export const followCommand = new Command('follow')
  .description(
    "keep feeds fresh: apply each new full file by diff and merge Spur's 5-minute realtime files in between, polling every IPOID_REALTIME_POLL_SECONDS until SIGTERM",
  )
  .option('--feed <types>', 'comma-separated feed types (default: IPOID_REALTIME_FEEDS, else anonymous-residential)')
  .action(async (opts: { feed?: string }) => {
    let config: FollowConfig;
    try {
      config = loadFollowConfig(process.env, opts.feed);
      yieldCpuToReaders();
    } catch (err) {
      reportError(new InputError((err as Error).message), createLogger());
      return;
    }
    await withStore(async ({ store, logger }) => {
      const { feeds, downloadDir, maxSkippedRatio, maxChangeRatio, pollSeconds } = config;
      const client = new SpurClient(config.spur, logger);
      logger.info({ feeds, pollSeconds }, 'following feeds');
      await new Follower({ store, feeds, client, downloadDir, maxSkippedRatio, maxChangeRatio, logger, signal: stopSignal() }).run(
        pollSeconds * 1000,
      );
      logger.info('follow stopped');
    });
  });
