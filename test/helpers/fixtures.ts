import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLogger } from '../../src/log.ts';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
export const SAMPLE_FEED = join(FIXTURES, 'sample-feed.jsonl');
export const BAD_LINES = join(FIXTURES, 'bad-lines.jsonl');

export const quietLogger = createLogger('silent');

const made: string[] = [];
process.once('exit', () => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A temporary directory, removed when the test process exits. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ipoid-test-'));
  made.push(dir);
  return dir;
}

/** The fixture's lines as parsed JSON objects. */
export function fixtureRecords(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Writes `text` gzipped into a temp dir (tests gzip fixtures on the fly). */
export function gzipToTemp(text: string | Buffer, name = 'feed.json.gz'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, gzipSync(text));
  return path;
}

/** Writes records as a JSON-lines feed into a temp dir; answers its path. */
export function jsonLinesFeed(records: readonly object[], name = 'feed.jsonl'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return path;
}
