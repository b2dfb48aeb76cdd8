import { SingleBar, Presets } from 'cli-progress';
import type { Logger } from '../log.ts';

export interface ImportProgress {
  bytesRead: number;
  linesRead: number;
  skipped: number;
  inserted: number;
  updated: number;
}

export interface ProgressReporter {
  update(progress: ImportProgress): void;
  stop(): void;
}

const LOG_INTERVAL_MS = 10_000;

/**
 * A progress bar over the feed's bytes when a person watches a terminal; otherwise (a
 * CronJob, CI) a structured log line every few seconds, which log collectors can read.
 */
export function progressReporter(totalBytes: number | undefined, logger: Logger, stream = process.stderr): ProgressReporter {
  if (stream.isTTY && totalBytes) {
    const bar = new SingleBar(
      {
        format: 'importing {bar} {percentage}% | {lines} lines | +{inserted} ~{updated} | {skipped} skipped | ETA {eta_formatted}',
        stream,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    bar.start(totalBytes, 0, { lines: 0, inserted: 0, updated: 0, skipped: 0 });
    return {
      update: (p) => bar.update(p.bytesRead, { lines: p.linesRead, inserted: p.inserted, updated: p.updated, skipped: p.skipped }),
      stop: () => bar.stop(),
    };
  }
  let lastLog = Date.now();
  return {
    update: (p) => {
      if (Date.now() - lastLog < LOG_INTERVAL_MS) return;
      lastLog = Date.now();
      logger.info({ ...p, totalBytes }, 'import progress');
    },
    stop: () => undefined,
  };
}
