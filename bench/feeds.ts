/*
 * The benchmarks' generated feeds, cached in bench/out/: the same seed always writes the same
 * file, so the benchmarks share them and reruns skip generation.
 */
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { runGenerate, type RunGenerateOptions } from '../src/generator/index.ts';

export const OUT = join(import.meta.dirname, 'out');
const SEED = 42;

export interface BenchFeed {
  file: string;
  /** How long generating it took, or null when it was already cached. */
  generatedSeconds: number | null;
}

/** The generated feed of `records` records, written once and then reused. */
export async function benchFeed(records: number): Promise<BenchFeed> {
  return cachedFeed(join(OUT, `feed-${records}-day1.json.gz`), { count: records, seed: SEED });
}

/** The next day of benchFeed(records), with 5% churn, written once and then reused. */
export async function benchNextDayFeed(records: number): Promise<BenchFeed> {
  const { file: from } = await benchFeed(records);
  return cachedFeed(join(OUT, `feed-${records}-day2.json.gz`), { from, churn: 0.05, seed: SEED + 1 });
}

async function cachedFeed(file: string, options: Omit<RunGenerateOptions, 'out'>): Promise<BenchFeed> {
  if (existsSync(file)) return { file, generatedSeconds: null };
  mkdirSync(OUT, { recursive: true });
  const started = performance.now();
  // Written aside and renamed: an interrupted run leaves no half feed to be taken as cached.
  const partial = file.replace(/\.json\.gz$/, '.partial.json.gz');
  await runGenerate({ ...options, out: partial });
  renameSync(partial, file);
  return { file, generatedSeconds: (performance.now() - started) / 1000 };
}

/** The feed's size once gunzipped, counted once by streaming it and cached in FEED.size.json. */
export async function uncompressedBytes(feed: string): Promise<number> {
  const cache = feed.replace(/\.json\.gz$/, '.size.json');
  if (existsSync(cache)) return (JSON.parse(readFileSync(cache, 'utf8')) as { bytes: number }).bytes;
  let bytes = 0;
  for await (const chunk of createReadStream(feed).pipe(createGunzip()) as AsyncIterable<Buffer>) bytes += chunk.length;
  writeFileSync(cache, `${JSON.stringify({ bytes })}\n`);
  return bytes;
}
