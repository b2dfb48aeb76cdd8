import { DEFAULT_DB_URL } from './store/open.ts';

/** Settings from the environment; every variable is documented in the README. */
export interface Config {
  /** Where the data lives: `sqlite:PATH` or `mariadb://user:pass@host:port/db`. */
  dbUrl: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return { dbUrl: env.IPOID_DB_URL || DEFAULT_DB_URL };
}
