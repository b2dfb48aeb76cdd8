import type { FeedType } from '../feed/feed-types.ts';
import type { SpurRecord } from '../feed/schema.ts';
import type { StoredRecord } from '../store/types.ts';
import type { Change } from '../history/changes.ts';
import type { ChangeItem, IpoidRecord, ListItem } from './schemas.ts';

/** A record's fields in IPoid's shape (contract §1), without the address, its time and its origin. */
export type RecordFields = Omit<IpoidRecord, 'ip' | 'last_updated' | 'network' | 'feeds'>;

/** What one record gives an answer: where it is from, when it last changed, and its fields. */
export interface ShapedRecord {
  feed: FeedType;
  /** The stored key: the address, or "addr/len" for a network. */
  key: string;
  lastUpdated: number;
  fields: RecordFields;
}

/**
 * A Spur object's fields in IPoid's shape. Missing fields read as the empty value the
 * MediaWiki client expects ("", 0, []); the concentration's geohash, skew and density appear
 * only when the feed has them.
 */
export function recordFields(context: SpurRecord): RecordFields {
  const client = context.client;
  const conc = client?.concentration;
  return {
    org: context.organization ?? context.as?.organization ?? '',
    client_count: client?.count ?? 0,
    types: client?.types ?? [],
    conc_city: conc?.city ?? '',
    conc_state: conc?.state ?? '',
    conc_country: conc?.country ?? '',
    countries: client?.countries ?? 0,
    location_country: context.location?.country ?? '',
    risks: context.risks ?? [],
    proxies: client?.proxies ?? [],
    behaviors: client?.behaviors ?? [],
    tunnels: (context.tunnels ?? []).flatMap((t) => (t.operator === undefined ? [] : [t.operator])),
    ...(conc?.geohash === undefined ? {} : { conc_geohash: conc.geohash }),
    ...(conc?.skew === undefined ? {} : { conc_skew: conc.skew }),
    ...(conc?.density === undefined ? {} : { conc_density: conc.density }),
  };
}

export const shaped = (stored: StoredRecord): ShapedRecord => ({
  feed: stored.feed,
  key: stored.key,
  lastUpdated: stored.lastUpdated,
  fields: recordFields(stored.context),
});

/** A record in IPoid's own shape (contract §1), for the address `ip`. */
export function ipoidRecord(record: ShapedRecord, ip: string): IpoidRecord {
  const f = record.fields;
  // The contract's key order, then the optional fields (the schema serializer's order too);
  // they are assigned rather than spread in: this runs for every address answered.
  const answer: IpoidRecord = {
    ip,
    org: f.org,
    client_count: f.client_count,
    types: f.types,
    conc_city: f.conc_city,
    conc_state: f.conc_state,
    conc_country: f.conc_country,
    countries: f.countries,
    location_country: f.location_country,
    risks: f.risks,
    last_updated: record.lastUpdated,
    proxies: f.proxies,
    behaviors: f.behaviors,
    tunnels: f.tunnels,
  };
  if (f.conc_geohash !== undefined) answer.conc_geohash = f.conc_geohash;
  if (f.conc_skew !== undefined) answer.conc_skew = f.conc_skew;
  if (f.conc_density !== undefined) answer.conc_density = f.conc_density;
  // Answering for an address, a network's record names the network; listed, a record is its own key.
  if (record.key.includes('/') && record.key !== ip) answer.network = record.key;
  return answer;
}

const LIST_FIELDS = ['types', 'risks', 'proxies', 'behaviors', 'tunnels'] as const;

/**
 * Everything known about an address, in IPoid's shape, from all its records (its own and a
 * containing networks', in any feed; the store orders them own-record first, then by
 * prefix length, longest first, then by feed).
 * Labels are the union of all records', in that order; single values come from the first
 * record; last_updated is the latest. With more than one record, `feeds` names them all.
 * The records' arrays are never modified: the lookup index shares them between records.
 */
export function ipoidAnswer(records: readonly ShapedRecord[], ip: string): IpoidRecord {
  const [first, ...others] = records;
  if (!first) throw new Error('ipoidAnswer needs at least one record');
  const answer = ipoidRecord(first, ip);
  if (others.length === 0) return answer;
  for (const other of others) {
    for (const field of LIST_FIELDS) answer[field] = [...new Set([...answer[field], ...other.fields[field]])];
    answer.last_updated = Math.max(answer.last_updated, other.lastUpdated);
  }
  answer.feeds = [...new Set(records.map((r) => r.feed))];
  return answer;
}

/** A stored record as the list route answers it: keyed by what is stored, with its feed. */
export function listItem(stored: StoredRecord): ListItem {
  const { ip, ...fields } = ipoidRecord(shaped(stored), stored.key);
  return { ip, feed: stored.feed, ...fields };
}

/** A change as the changes route answers it: the key, and its record before and after in IPoid's shape. */
export function changeItem(change: Change): ChangeItem {
  const shape = (record: StoredRecord | null) => {
    if (record === null) return null;
    const { ip: _ip, feed: _feed, ...fields } = listItem(record);
    return fields;
  };
  return { ip: change.key, feed: change.feed, change: change.change, before: shape(change.before), after: shape(change.after) };
}
