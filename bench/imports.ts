/*
 * Imports in child processes: the measured import worker (bench/import-worker.ts), and the
 * real `ipoid import` command when its start-up is what is measured.
 */
import { join } from 'node:path';
import { spawnIpoid, spawnTs } from './ipoid-process.ts';
import { pollPeak } from './measure.ts';

const WORKER = join(import.meta.dirname, 'import-worker.ts');
const DISK_POLL_MS = 250;

/** What an import took, as the worker measured it. */
export interface MeasuredImport {
  seconds: number;
  peakRssMb: number;
  linesRead: number;
  inserted: number;
  updated: number;
  deleted: number;
  /** The probe's peak while the import ran, when one was given. */
  peakDiskBytes: number | null;
}

/** Disk in use for the import of the process `pid`, in bytes. */
export type DiskProbe = (pid: number) => number;

export async function measureImport(url: string, feed: string, disk?: DiskProbe): Promise<MeasuredImport> {
  const child = spawnTs(WORKER, [url, feed]);
  const poll = disk && pollPeak(() => disk(child.process.pid!), DISK_POLL_MS);
  const out = await child.exited.catch((err: unknown) => {
    poll?.stop();
    throw err;
  });
  return { ...(JSON.parse(out) as Omit<MeasuredImport, 'peakDiskBytes'>), peakDiskBytes: poll?.stop() ?? null };
}

export interface RunningImport {
  /** When it began reading the feed (performance.now()). */
  readingAt: number;
  /** Seconds from spawning `ipoid import` until it began reading the feed. */
  startupSeconds: number;
  /** Settles once its commit has returned (its log says `import finished`), with the time and the run. */
  finished: Promise<FinishedImport>;
  /** Settles when the import has ended, with the time it ended (performance.now()). */
  ended: Promise<number>;
}

export interface FinishedImport {
  /** When the bench read the log line (performance.now()): just after the commit returned. */
  at: number;
  inserted: number;
  updated: number;
  deleted: number;
  records: number;
}

/** Starts `ipoid import FEED` and answers once it reads the feed (its debug log says so). */
export async function startCliImport(url: string, feed: string): Promise<RunningImport> {
  const child = spawnIpoid(['import', feed], { IPOID_DB_URL: url, IPOID_LOG_LEVEL: 'debug' });
  // Watched from the start: a small import may log both lines in one chunk of stderr.
  const finished = child.stderrMatch(/^\{.*"msg":"import finished".*\}$/).then(([line]) => ({
    at: performance.now(),
    ...(JSON.parse(line) as Omit<FinishedImport, 'at'>),
  }));
  const ended = child.exited.then(() => performance.now());
  // Callers await these later, if at all: a failure meanwhile must not end the benchmark as an unhandled rejection.
  for (const settled of [finished, ended]) settled.catch(() => undefined);
  await child.stderrMatch(/"msg":"import reading feed"/);
  const readingAt = performance.now();
  return { readingAt, startupSeconds: (readingAt - child.spawnedAt) / 1000, finished, ended };
}
