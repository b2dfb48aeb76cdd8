import type { StoredRecord } from '../store/types.ts';
import type { Change } from '../history/changes.ts';
import type { ChangeItem, IpoidRecord, ListItem } from './schemas.ts';

/**
 * A stored record in IPoid's own shape (contract §1), for the address `ip`. Missing fields
 * read as the empty value the MediaWiki client expects ("", 0, []); the concentration's
 * geohash, skew and density appear only when the feed has them.
 */
export function ipoidRecord(stored: StoredRecord, ip: string): IpoidRecord {
  const { context } = stored;
  const client = context.client;
  const conc = client?.concentration;
  // The contract's key order, then the optional fields (the schema serializer's order too).
  return {
    ip,
    org: context.organization ?? context.as?.organization ?? '',
    client_count: client?.count ?? 0,
    types: client?.types ?? [],
    conc_city: conc?.city ?? '',
    conc_state: conc?.state ?? '',
    conc_country: conc?.country ?? '',
    countries: client?.countries ?? 0,
    location_country: context.location?.country ?? '',
    risks: context.risks ?? [],
    last_updated: stored.lastUpdated,
    proxies: client?.proxies ?? [],
    behaviors: client?.behaviors ?? [],
    tunnels: (context.tunnels ?? []).flatMap((t) => (t.operator === undefined ? [] : [t.operator])),
    ...(conc?.geohash === undefined ? {} : { conc_geohash: conc.geohash }),
    ...(conc?.skew === undefined ? {} : { conc_skew: conc.skew }),
    ...(conc?.density === undefined ? {} : { conc_density: conc.density }),
    // Answering for an address, a network's record names the network; listed, a record is its own key.
    ...(stored.key.includes('/') && stored.key !== ip ? { network: stored.key } : {}),
  };
}

const LIST_FIELDS = ['types', 'risks', 'proxies', 'behaviors', 'tunnels'] as const;

/**
 * Everything known about an address, in IPoid's shape, from all its records (its own and a
 * containing networks', in any feed; the store orders them own-record first, then by
 * prefix length, longest first, then by feed).
 * Labels are the union of all records', in that order; single values come from the first
 * record; last_updated is the latest. With more than one record, `feeds` names them all.
 */
export function ipoidAnswer(records: StoredRecord[], ip: string): IpoidRecord {
  const [first, ...others] = records;
  if (!first) throw new Error('ipoidAnswer needs at least one record');
  const answer = ipoidRecord(first, ip);
  if (others.length === 0) return answer;
  for (const other of others.map((r) => ipoidRecord(r, ip))) {
    for (const field of LIST_FIELDS) answer[field] = [...new Set([...answer[field], ...other[field]])];
    answer.last_updated = Math.max(answer.last_updated, other.last_updated);
  }
  answer.feeds = [...new Set(records.map((r) => r.feed))];
  return answer;
}

/** A stored record as the list route answers it: keyed by what is stored, with its feed. */
export function listItem(stored: StoredRecord): ListItem {
  const { ip, ...fields } = ipoidRecord(stored, stored.key);
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
