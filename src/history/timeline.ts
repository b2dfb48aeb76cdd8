import { feedName, type FeedType } from '../feed/feed-types.ts';
import { keyText, networkContains, type CanonicalIp } from '../feed/ip.ts';
import type { DataRow } from '../store/rows.ts';
import type { StoredRecord } from '../store/types.ts';
import type { FeedDay } from './feed-day.ts';
import { decodeState } from './state-codec.ts';

/** One ip_history row: the state a key had until the import of `ended_on` changed it. */
export interface PastRow {
  ended_on: FeedDay;
  /** state-codec.ts; null: the key was not in the feed. */
  state: Buffer | null;
  label_ids: string | null;
  last_updated: number | null;
}

/** One stored key of one feed as a store reads it for history: its record now (if any) and its past rows, oldest first. */
export interface KeyPast {
  feedId: number;
  ip: Buffer;
  prefixLen: number;
  current: (DataRow & { label_ids: string }) | null;
  past: PastRow[];
}

/** One state of a key: a record, or none (the key was not in the feed). */
export interface Version {
  /** The record's JSON; null while the key was not in the feed. */
  json: string | null;
  lastUpdated: number | null;
  /** The feed day it began; null when that is older than the kept history. */
  from: FeedDay | null;
  /** The feed day of the import that ended it; null for the state the key is in now. */
  until: FeedDay | null;
}

export interface KeyTimeline {
  feed: FeedType;
  /** The key's canonical text (an address, or addr/len). */
  key: string;
  /** Oldest first; the last is the key's state now. */
  versions: Version[];
}

/** A key's versions, each read back from the one after it (a delta needs the newer record). */
export function timelineOf(key: KeyPast): KeyTimeline {
  const versions: Version[] = [];
  const { current, past } = key;
  let next: string | null = current?.context ?? null;
  versions.push({
    json: next,
    lastUpdated: current?.last_updated ?? null,
    from: past.at(-1)?.ended_on ?? null,
    until: null,
  });
  for (let i = past.length - 1; i >= 0; i--) {
    const row = past[i]!;
    const json = row.state === null ? null : decodeState(row.state, next);
    versions.push({
      json,
      lastUpdated: row.last_updated,
      from: i > 0 ? past[i - 1]!.ended_on : null,
      until: row.ended_on,
    });
    next = json;
  }
  versions.reverse();
  return {
    feed: feedName(key.feedId),
    key: current?.ip_text ?? keyText(key.ip, key.prefixLen),
    versions,
  };
}

/** The version current at the end of feed day `day` (an import of that day included). */
export function versionAt(timeline: KeyTimeline, day: FeedDay): Version {
  return timeline.versions.find((v) => v.until === null || v.until > day)!;
}

/** Keys that hold `address` (its own, and networks containing it), in lookup order: the address's own first, then longest prefix, ties by feed. */
export function containingKeys(keys: KeyPast[], address: CanonicalIp): KeyPast[] {
  return keys
    .filter((k) => networkContains(k.ip, k.prefixLen, address.bytes))
    .sort((a, b) => b.prefixLen - a.prefixLen || a.feedId - b.feedId);
}

/** A version that holds a record, as lookups answer it. */
export function versionRecord(timeline: KeyTimeline, version: Version): StoredRecord {
  return {
    feed: timeline.feed,
    key: timeline.key,
    context: JSON.parse(version.json!) as StoredRecord['context'],
    json: version.json!,
    lastUpdated: version.lastUpdated ?? 0,
  };
}

/** A PastRow with its key, as stores read them. */
export type KeyedPastRow = PastRow & { ip: Buffer; prefix_len: number; feed_id: number };

/** One key of one feed as a map key. */
export const keyId = (feedId: number, ip: Buffer, prefixLen: number): string => `${feedId}/${ip.toString('hex')}/${prefixLen}`;

/** The rows read at an address's probe starts, grouped by key. `past` must come oldest first within each key. */
export function groupKeys(current: readonly (DataRow & { label_ids: string })[], past: readonly KeyedPastRow[]): KeyPast[] {
  const keys = new Map<string, KeyPast>();
  const keyOf = (row: { ip: Buffer; prefix_len: number; feed_id: number }): KeyPast => {
    const id = keyId(row.feed_id, row.ip, row.prefix_len);
    let key = keys.get(id);
    if (!key) {
      key = { feedId: row.feed_id, ip: row.ip, prefixLen: row.prefix_len, current: null, past: [] };
      keys.set(id, key);
    }
    return key;
  };
  for (const row of current) keyOf(row).current = row;
  for (const row of past) keyOf(row).past.push(row);
  return [...keys.values()];
}
