import { loadConfig } from '../config.ts';
import { InvalidIpError } from '../feed/ip.ts';
import { ImportFailedError, ImportRefusedError } from '../import/importer.ts';
import { createLogger, type Logger } from '../log.ts';
import { InvalidCursorError } from '../store/cursor.ts';
import { openStore, type OpenStoreOptions } from '../store/open.ts';
import { ImportLockedError, type Store } from '../store/types.ts';

/**
 * Exit codes, documented in the README so scripts and CronJobs can tell outcomes apart;
 * `auth` (Spur refused the token) tells "fix the secret" from "try again"; `refused` (the
 * change limit stopped an import) tells "look at the file, then force it" from both.
 */
export const EXIT = { ok: 0, failed: 1, badInput: 2, locked: 3, auth: 4, refused: 5 } as const;

/** An expected failure: its message is for the user, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface CommandContext {
  store: Store;
  logger: Logger;
}

function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ImportLockedError) return EXIT.locked;
  if (err instanceof ImportRefusedError) return EXIT.refused;
  if (err instanceof InvalidIpError || err instanceof InvalidCursorError) return EXIT.badInput;
  return EXIT.failed;
}

/** Runs a command against the configured store, closing it afterwards and mapping errors to exit codes. */
export async function withStore(
  action: (ctx: CommandContext) => Promise<void>,
  options: OpenStoreOptions = {},
): Promise<void> {
  const logger = createLogger();
  let store: Store | undefined;
  try {
    store = await openStore(loadConfig().dbUrl, options);
    await action({ store, logger });
  } catch (err) {
    reportError(err, logger);
  } finally {
    await store?.close();
  }
}

export function reportError(err: unknown, logger: Logger): void {
  const message = err instanceof ImportFailedError ? err.message : (err as Error).message;
  logger.debug({ err }, 'command failed');
  process.stderr.write(`ipoid: ${message}\n`);
  process.exitCode = exitCodeOf(err);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
