/*
 * The benchmarks' generated feeds, cached in bench/out/: the same seed always writes the same
 * file, so the import and API benchmarks share them and reruns skip generation.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runGenerate } from '../src/generator/index.ts';

export const OUT = join(import.meta.dirname, 'out');
const SEED = 42;

/** The generated feed of `records` records, written once and then reused. */
export async function benchFeed(records: number): Promise<string> {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `feed-${records}-day1.json.gz`);
  if (!existsSync(file)) await runGenerate({ count: records, seed: SEED, out: file });
  return file;
}

/** The next day of benchFeed(records), with 5% churn, written once and then reused. */
export async function benchNextDayFeed(records: number): Promise<string> {
  const file = join(OUT, `feed-${records}-day2.json.gz`);
  if (!existsSync(file)) await runGenerate({ from: await benchFeed(records), churn: 0.05, seed: SEED + 1, out: file });
  return file;
}
