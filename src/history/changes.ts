import type { FeedType } from '../feed/feed-types.ts';
import type { CanonicalIp } from '../feed/ip.ts';
import { labelKey, recordLabels } from '../feed/record.ts';
import type { LabelCount, LabelFilter, Store, StoredRecord } from '../store/types.ts';
import { today, type FeedDay } from './feed-day.ts';
import { timelineOf, versionAt, versionRecord, type KeyPast } from './timeline.ts';
import { checkInWindow, historyWindow } from './window.ts';
import { setImmediate } from 'node:timers/promises';
import { InputError } from '../errors.ts';
import { encodeCursor } from '../store/cursor.ts';

/** Keys read per statement, however small the page asked for. */
const MIN_KEYS = 200;

export type ChangeKind = 'added' | 'removed' | 'changed';

/** What one key was at the end of `since` and at the end of `until`. */
export interface Change {
  key: string;
  feed: FeedType;
  change: ChangeKind;
  before: StoredRecord | null;
  after: StoredRecord | null;
}

export interface ChangesQuery {
  since: FeedDay;
  /** The newest data when absent. */
  until?: FeedDay;
  /** Every label must match the record before or the record after. */
  labels: LabelFilter[];
  within?: CanonicalIp;
  limit: number;
  after?: string;
}

export interface ChangesPage {
  changes: Change[];
  next?: string;
}

/** An InputError unless `since` (and `until`, after it) lie in the kept window. */
export async function checkSpan(store: Store, since: FeedDay, until: FeedDay | undefined): Promise<void> {
  const window = historyWindow(await store.dataDays(), store.historyDays);
  checkInWindow(since, window, today(), 'since');
  if (until === undefined) return;
  checkInWindow(until, window, today(), 'until');
  if (until < since) throw new InputError('until must not be before since');
}

/**
 * One keyset page of the keys whose record differs between the end of `since` and the end of
 * `until` (added, removed or changed), in key order. The span must have been checked (checkSpan).
 */
export async function changesPage(store: Store, query: ChangesQuery): Promise<ChangesPage> {
  const changes: Change[] = [];
  let after = query.after;
  // Keys whose states came back the same, or that no filter matched, take no place on the
  // page: read keys until the page is full (its cursor is then its last key) or they run out.
  for (;;) {
    const page = await store.changedKeys({ since: query.since, within: query.within, limit: Math.max(query.limit, MIN_KEYS), after });
    for (const [i, key] of page.keys.entries()) {
      const change = changeOf(key, query.since, query.until);
      if (!change || !matches(change, query.labels)) continue;
      changes.push(change);
      if (changes.length === query.limit) {
        const more = i < page.keys.length - 1 || page.next !== undefined;
        return { changes, next: more ? encodeCursor({ ip: key.ip, prefixLen: key.prefixLen, feedId: key.feedId }) : undefined };
      }
    }
    after = page.next;
    if (!after) return { changes };
    await setImmediate(); // SQLite reads synchronously: let other requests in between pages
  }
}

/** Every change of the span, a page at a time (exports). */
export async function* allChanges(store: Store, query: Omit<ChangesQuery, 'limit' | 'after'>): AsyncGenerator<Change> {
  let after: string | undefined;
  do {
    const page = await changesPage(store, { ...query, limit: 1000, after });
    yield* page.changes;
    after = page.next;
  } while (after);
}

function changeOf(key: KeyPast, since: FeedDay, until: FeedDay | undefined): Change | null {
  const timeline = timelineOf(key);
  const was = versionAt(timeline, since);
  const is = until === undefined ? timeline.versions.at(-1)! : versionAt(timeline, until);
  if (was.json === is.json) return null;
  const before = was.json === null ? null : versionRecord(timeline, was);
  const after = is.json === null ? null : versionRecord(timeline, is);
  return {
    key: timeline.key,
    feed: timeline.feed,
    change: before === null ? 'added' : after === null ? 'removed' : 'changed',
    before,
    after,
  };
}

function matches(change: Change, filters: readonly LabelFilter[]): boolean {
  if (filters.length === 0) return true;
  const has = (record: StoredRecord | null): boolean => {
    if (record === null) return false;
    const labels = new Set(recordLabels(record.context).map(labelKey));
    return filters.every(({ kind, value }) => labels.has(labelKey([kind, value])));
  };
  return has(change.before) || has(change.after);
}

/** A label's count now and at the end of a past day, with how many keys gained and lost it since. */
export interface LabelSince extends LabelCount {
  then: number;
  added: number;
  removed: number;
}

/**
 * Every label carried now or at the end of `since`: its count then and now, from the label
 * ids kept with each state (no record is read back). The span must have been checked.
 */
export async function labelCountsSince(store: Store, since: FeedDay): Promise<LabelSince[]> {
  const byId = new Map((await store.labels()).map((label) => [label.id, label]));
  const now = new Map((await store.labelCounts()).map((c) => [labelKey([c.kind, c.value]), c.count]));
  const added = new Map<number, number>();
  const removed = new Map<number, number>();
  const bump = (counts: Map<number, number>, id: number): void => void counts.set(id, (counts.get(id) ?? 0) + 1);
  let after: string | undefined;
  do {
    const page = await store.changedKeys({ since, limit: 1000, after });
    for (const key of page.keys) {
      const first = key.past[0]!;
      const then = first.state === null ? [] : (JSON.parse(first.label_ids!) as number[]);
      const current = key.current ? (JSON.parse(key.current.label_ids) as number[]) : [];
      for (const id of current) if (!then.includes(id)) bump(added, id);
      for (const id of then) if (!current.includes(id)) bump(removed, id);
    }
    after = page.next;
    await setImmediate(); // SQLite reads synchronously: let other requests in between pages
  } while (after);
  const result: LabelSince[] = [];
  for (const [id, { kind, value }] of byId) {
    const count = now.get(labelKey([kind, value])) ?? 0;
    const gained = added.get(id) ?? 0;
    const lost = removed.get(id) ?? 0;
    const then = count - gained + lost;
    if (count > 0 || then > 0) result.push({ kind, value, count, then, added: gained, removed: lost });
  }
  return result.sort((a, b) => a.kind.localeCompare(b.kind) || b.count - a.count || a.value.localeCompare(b.value));
}
