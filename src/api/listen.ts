import type { Logger } from '../log.ts';
import type { Store } from '../store/types.ts';
import type { ApiConfig } from './config.ts';
import { buildServer } from './server.ts';

export interface Listening {
  url: string;
  /** Settles once SIGTERM or SIGINT has closed the server; the store is the caller's to close. */
  stopped: Promise<void>;
}

/**
 * Serves the API until SIGTERM or SIGINT, then shuts down gracefully: stops accepting
 * connections and lets the requests in flight finish.
 */
export async function listenApi(store: Store, logger: Logger, config: ApiConfig): Promise<Listening> {
  const app = buildServer({ store, logger, config });
  const url = await app.listen({
    host: config.host,
    port: config.port,
    listenTextResolver: (address) =>
      `IPoid API listening at ${address} (${store.kind} store, ${config.tokens.length > 0 ? 'bearer tokens required' : 'no auth'})`,
  });
  const stopped = new Promise<void>((resolve, reject) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      logger.info({ signal }, 'IPoid API shutting down');
      app.close().then(resolve, reject);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return { url, stopped };
}
