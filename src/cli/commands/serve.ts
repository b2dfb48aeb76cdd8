import { Command } from 'commander';
import { loadApiConfig } from '../../api/config.ts';
import { listenApi } from '../../api/listen.ts';
import { createLogger } from '../../log.ts';
import { openStore } from '../../store/open.ts';
import type { Store } from '../../store/types.ts';
import { reportError } from '../run.ts';

export const serveCommand = new Command('serve')
  .description('serve the stored data over HTTP (IPOID_HOST, IPOID_PORT; IPOID_DB_READ_URL for a read-only user) until SIGTERM/SIGINT')
  .action(async () => {
    const logger = createLogger();
    let store: Store | undefined;
    try {
      const config = loadApiConfig();
      // Not withStore: the API may read through its own URL, read-only.
      store = await openStore(config.dbUrl, { readOnly: config.readOnly, poolSize: config.dbPoolSize, historyDays: config.historyDays });
      await (
        await listenApi(store, logger, config)
      ).stopped;
    } catch (err) {
      reportError(err, logger);
    } finally {
      await store?.close();
    }
  });
