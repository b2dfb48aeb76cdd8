import { resolve } from 'node:path';
import { generateLines, type GenerateSummary } from './generate.ts';
import type { RealtimeOptions, RealtimeSummary } from './realtime.ts';
import { writeChunks, writeLines } from './writer.ts';

export type { GenerateSummary } from './generate.ts';
export type { RealtimeOptions, RealtimeSummary } from './realtime.ts';
export { generateFeed } from './generate.ts';
export { writeFeed } from './writer.ts';

export interface RunGenerateOptions {
  /** Records to generate; required without `from`, not allowed with it. */
  count?: number;
  seed: number;
  /** Output file; gzip-compressed when it ends in ".gz". */
  out: string;
  /** Previous feed: when given, writes that feed's next day instead of a fresh feed. */
  from?: string;
  /** Next-day churn fraction (default 0.05). */
  churn?: number;
}

export const DEFAULT_CHURN = 0.05;

/** The CLI's entry: writes a fresh feed, or the next day of `from`, and says what it holds. */
export async function runGenerate(opts: RunGenerateOptions): Promise<GenerateSummary> {
  if (opts.from === undefined) {
    if (opts.count === undefined) throw new Error('count is required to generate a fresh feed');
    const written = await writeLines(generateLines({ count: opts.count, seed: opts.seed }), opts.out);
    return { records: written, removed: 0, changed: 0, added: written, unchanged: 0 };
  }
  // The next day's size follows from the previous feed; a count too would contradict it.
  if (opts.count !== undefined) throw new Error('count cannot be combined with from: the next day keeps the previous size');
  if (resolve(opts.from) === resolve(opts.out)) throw new Error('out must differ from from: the previous feed is read while writing');
  // Loaded here: the next day validates lines as the importer does, whose modules take a second to load.
  const { churnFeed } = await import('./churn.ts');
  const { summary, chunks } = await churnFeed({ from: opts.from, churn: opts.churn ?? DEFAULT_CHURN, seed: opts.seed });
  await writeChunks(chunks, opts.out);
  return summary;
}

/** The CLI's realtime entry: writes `slots` realtime files of updates to the day file `from` (realtime.ts). */
export async function runRealtime(opts: RealtimeOptions): Promise<RealtimeSummary> {
  // Loaded here for the same reason as next-day mode: it reads the day file as that mode reads the previous feed.
  const { generateRealtime } = await import('./realtime.ts');
  return generateRealtime(opts);
}
