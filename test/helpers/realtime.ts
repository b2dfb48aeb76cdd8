import assert from 'node:assert/strict';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FeedType } from '../../src/feed/feed-types.ts';
import { applySlot } from '../../src/realtime/apply-slot.ts';
import { parseSlotPath } from '../../src/realtime/slot.ts';
import type { Store } from '../../src/store/types.ts';
import { quietLogger } from './fixtures.ts';

/** Lines of JSON objects (or raw text lines) as a feed or slot file holds them. */
const linesOf = (lines: readonly (object | string)[]): string =>
  lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';

/** Writes a file whole or not at all, as a server publishes it: the fake server never sees half of it. */
function publish(path: string, bytes: Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}

/** FEEDS/{feed}/{YYYYMMDD}/feed.json.gz with these records. */
export function publishFullFile(dir: string, feed: FeedType, date: string, records: readonly object[]): void {
  publish(join(dir, feed, date, 'feed.json.gz'), gzipSync(linesOf(records)));
}

/** FEEDS/{feed}/realtime/{YYYYMMDD/HHMM}.json.gz with these partial records; answers its path. */
export function publishSlot(dir: string, feed: FeedType, slot: string, lines: readonly (object | string)[]): string {
  const path = join(dir, feed, 'realtime', `${slot}.json.gz`);
  publish(path, gzipSync(linesOf(lines)));
  return path;
}

/** Publishes a slot of these lines under `dir` and merges it into the store, where it must apply. */
export async function mergePublishedSlot(store: Store, dir: string, feed: FeedType, slot: string, lines: readonly object[]): Promise<void> {
  const file = publishSlot(dir, feed, slot, lines);
  assert.equal((await applySlot(store, file, { feed, slot: parseSlotPath(slot)!, logger: quietLogger })).status, 'applied');
}

/** A slot file cut short: a gzip stream without its end, as a broken transfer leaves it. */
export function publishTruncatedSlot(dir: string, feed: FeedType, slot: string, lines: readonly object[]): void {
  const whole = gzipSync(linesOf(lines));
  publish(join(dir, feed, 'realtime', `${slot}.json.gz`), whole.subarray(0, Math.floor(whole.length / 2)));
}
