import { getPriority, setPriority } from 'node:os';

/** IPOID_IMPORT_NICE's default: well below the API, which answers within a client's one-second budget. */
const DEFAULT_IMPORT_NICE = 10;

function parseNice(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_IMPORT_NICE;
  if (!/^\d{1,2}$/.test(text) || Number(text) > 19) {
    throw new Error(
      `IPOID_IMPORT_NICE must be a whole number from 0 (no change) to 19 (the lowest CPU priority), not ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

/**
 * An import is a batch job: where it shares CPU cores with `ipoid serve` (one host, a
 * systemd timer, the benchmarks) the lookups come first, and the import takes what they
 * leave. Only lowers the priority: an unprivileged process could not take it back, and one
 * started nicer than this stays so.
 */
export function yieldCpuToReaders(env: NodeJS.ProcessEnv = process.env): void {
  const nice = parseNice(env.IPOID_IMPORT_NICE);
  if (nice > getPriority()) setPriority(nice);
}
