import { feedName, type FeedType } from '../feed/feed-types.ts';
import type { CanonicalIp } from '../feed/ip.ts';
import { labelKey, recordLabels, type LabelKind } from '../feed/record.ts';
import type { SpurRecord } from '../feed/schema.ts';
import type { Store, StoredRecord } from '../store/types.ts';
import { dateOfDay, today, type FeedDay } from './feed-day.ts';
import { containingKeys, timelineOf, versionAt, versionRecord, type KeyTimeline } from './timeline.ts';
import { checkInWindow, historyWindow, snapshotDay, type DataDay, type HistoryWindow } from './window.ts';

/** An address's records as of a past day. */
export interface RecordsAsOf {
  /** In lookup order (the address's own, then containing networks), each with the feed day it reflects. */
  found: { record: StoredRecord; day: FeedDay }[];
  /** The newest feed day any feed's data on that day came from (null: no feed held data then). */
  newestDay: FeedDay | null;
}

/**
 * What `lookup` answered at the end of feed day `day`: each feed as its last import on or
 * before that day left it. An InputError for a day outside the kept window.
 */
export async function lookupAsOf(store: Store, address: CanonicalIp, day: FeedDay): Promise<RecordsAsOf> {
  const { days, keys } = await store.pastOf(address);
  checkInWindow(day, historyWindow(days, store.historyDays), today(), 'date');
  const found: RecordsAsOf['found'] = [];
  for (const key of containingKeys(keys, address)) {
    const snapshot = snapshotDay(days, feedName(key.feedId), day);
    if (snapshot === null) continue;
    const timeline = timelineOf(key);
    const version = versionAt(timeline, snapshot);
    if (version.json !== null) found.push({ record: versionRecord(timeline, version), day: snapshot });
  }
  const snapshots = [...new Set(days.map((d) => d.feed))].map((feed) => snapshotDay(days, feed, day) ?? 0);
  return { found, newestDay: Math.max(0, ...snapshots) || null };
}

/** One record a key held, and the feed days it was in the data. */
export interface PastVersion {
  first: string;
  last: string;
  lastUpdated: number | null;
  /** The record's JSON as it was in the feed. */
  json: string;
}

export interface LabelSpan {
  kind: LabelKind;
  value: string;
  firstSeen: string;
  lastSeen: string;
}

/** One key's timeline within the kept window: its records, oldest first, and each label's first and last day. */
export interface KeyHistory {
  key: string;
  feed: FeedType;
  versions: PastVersion[];
  labels: LabelSpan[];
}

export interface AddressHistory {
  window: HistoryWindow | null;
  keys: KeyHistory[];
}

/** The timelines of an address's own key and of every network containing it, in lookup order; keys with no record in the window are left out. */
export async function addressHistory(store: Store, address: CanonicalIp): Promise<AddressHistory> {
  const { days, keys } = await store.pastOf(address);
  const window = historyWindow(days, store.historyDays);
  const histories = containingKeys(keys, address)
    .map((key) => keyHistory(timelineOf(key), days, window!))
    .filter((history) => history.versions.length > 0);
  return { window, keys: histories };
}

function keyHistory(timeline: KeyTimeline, days: readonly DataDay[], window: HistoryWindow): KeyHistory {
  const feedDays = days.filter((d) => d.feed === timeline.feed).map((d) => d.day);
  const versions: PastVersion[] = [];
  const labels = new Map<string, LabelSpan>();
  for (const version of timeline.versions) {
    if (version.json === null) continue;
    // A state's first day older than the kept history is shown as the window's first (or the feed's).
    const first = version.from ?? Math.max(window.from, feedDays[0] ?? window.from);
    const last = version.until === null ? feedDays.at(-1)! : Math.max(first, ...feedDays.filter((d) => d < version.until!));
    const context = JSON.parse(version.json) as SpurRecord;
    versions.push({ first: dateOfDay(first), last: dateOfDay(last), lastUpdated: version.lastUpdated, json: version.json });
    for (const [kind, value] of recordLabels(context)) {
      const id = labelKey([kind, value]);
      const span = labels.get(id);
      if (span) span.lastSeen = dateOfDay(last);
      else labels.set(id, { kind, value, firstSeen: dateOfDay(first), lastSeen: dateOfDay(last) });
    }
  }
  return { key: timeline.key, feed: timeline.feed, versions, labels: [...labels.values()] };
}
