import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runGenerate, type GenerateSummary } from '../../src/generator/index.ts';
import { SpurClient, type SpurSettings } from '../../src/spur/client.ts';
import type { FeedType } from '../../src/feed/feed-types.ts';
import { quietLogger } from './fixtures.ts';

export const TOKEN = 'test-token-4f1c9e';
export const RECORDS = 3000;

const feedFile = (dir: string, feed: FeedType, date: string): string => join(dir, feed, date, 'feed.json.gz');

/** Writes FEEDS/{feed}/{date}/feed.json.gz as the fake Spur serves it: a fresh feed, or the next day of `from`. */
export async function writeFeed(dir: string, feed: FeedType, date: string, seed: number, from?: string): Promise<GenerateSummary> {
  mkdirSync(join(dir, feed, date), { recursive: true });
  const out = feedFile(dir, feed, date);
  return from ? runGenerate({ from: feedFile(dir, feed, from), churn: 0.1, seed, out }) : runGenerate({ count: RECORDS, seed, out });
}

/** A client against a fake server, with delays and timeouts short enough for tests. */
export function testClient(baseUrl: string, settings: Partial<SpurSettings> = {}): SpurClient {
  return new SpurClient(
    {
      baseUrl,
      token: TOKEN,
      attempts: 3,
      retryDelayMs: 10,
      requestTimeoutMs: 2000,
      stallTimeoutMs: 1000,
      minBytesPerSecond: 0,
      ...settings,
    },
    quietLogger,
  );
}

/** Files left behind in a download directory (there should be none). */
export const leftovers = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String);
