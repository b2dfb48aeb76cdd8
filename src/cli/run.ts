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
