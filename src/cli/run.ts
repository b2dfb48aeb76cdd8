import { loadConfig } from '../config.ts';
import { exitStatus } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { openStore } from '../store/open.ts';
import type { Store, StoreOptions } from '../store/types.ts';

export interface CommandContext {
  store: Store;
  logger: Logger;
}

/** Runs a command against the configured store, closing it afterwards and mapping errors to exit codes. */
export async function withStore(action: (ctx: CommandContext) => Promise<void>, options: StoreOptions = {}): Promise<void> {
  const logger = createLogger();
  let store: Store | undefined;
  try {
    const { dbUrl, historyDays } = loadConfig();
    store = await openStore(dbUrl, { historyDays, ...options });
    await action({ store, logger });
  } catch (err) {
    reportError(err, logger);
  } finally {
    await store?.close();
  }
}

export function reportError(err: unknown, logger: Logger): void {
  logger.debug({ err }, 'command failed');
  process.stderr.write(`ipoid: ${(err as Error).message}\n`);
  process.exitCode = exitStatus(err);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Aborts on SIGTERM or SIGINT, for a job that stops between two units of work (a realtime
 * slot is merged whole or not at all). In a container the process is PID 1, which a signal
 * without a handler does not stop.
 */
export function stopSignal(): AbortSignal {
  const stop = new AbortController();
  const abort = () => stop.abort();
  process.once('SIGTERM', abort).once('SIGINT', abort);
  return stop.signal;
}
