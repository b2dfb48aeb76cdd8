import { DEFAULT_MAX_CHANGE_RATIO, DEFAULT_MAX_SKIPPED_RATIO, parseChangeRatio, parseSkippedRatio } from './import/limits.ts';
import { DEFAULT_DB_URL } from './store/open.ts';
import { DEFAULT_HISTORY_DAYS } from './store/types.ts';

/** Settings from the environment; every variable is documented in the README. */
export interface Config {
  /** Where the data lives: `sqlite:PATH` or `mariadb://user:pass@host:port/db`. */
  dbUrl: string;
  /** Feed days of history kept (imports prune older states; the API answers `at` within them); 0 keeps none. */
  historyDays: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return { dbUrl: env.IPOID_DB_URL || DEFAULT_DB_URL, historyDays: parseHistoryDays(env.IPOID_HISTORY_DAYS) };
}

function parseHistoryDays(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_HISTORY_DAYS;
  if (!/^\d{1,5}$/.test(text))
    throw new Error(`IPOID_HISTORY_DAYS must be a whole number of days (0 keeps no history), not ${JSON.stringify(text)}`);
  return Number(text);
}

/** A comma-separated setting's items, trimmed, without empty ones. */
export function commaList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Settings of every import, whichever command runs it (`import`, `update`). */
export interface ImportConfig {
  /** Share of skipped lines above which an import fails and keeps the stored data. */
  maxSkippedRatio: number;
  /** Share of a feed's stored records an import may delete or update; past it the import is refused. */
  maxChangeRatio: number;
}

/**
 * Read apart from loadConfig: commands that never import must not fail on these. A setting
 * `given` on the command line wins, and its variable is then not read at all.
 */
export function loadImportConfig(env: NodeJS.ProcessEnv = process.env, given: Partial<ImportConfig> = {}): ImportConfig {
  const skipped = env.IPOID_MAX_SKIPPED_RATIO;
  const changed = env.IPOID_MAX_CHANGE_RATIO;
  return {
    maxSkippedRatio: given.maxSkippedRatio ?? (skipped ? parseSkippedRatio(skipped, 'IPOID_MAX_SKIPPED_RATIO') : DEFAULT_MAX_SKIPPED_RATIO),
    maxChangeRatio: given.maxChangeRatio ?? (changed ? parseChangeRatio(changed, 'IPOID_MAX_CHANGE_RATIO') : DEFAULT_MAX_CHANGE_RATIO),
  };
}
