import type { SpurRecord } from '../feed/schema.ts';
import { RISKS } from './distributions.ts';
import type { Random } from './random.ts';

/** The spec's key order, so a field added to a record lands where Spur would put it. */
const KEY_ORDER: readonly string[] = [
  'ip',
  'network',
  'as',
  'organization',
  'infrastructure',
  'location',
  'risks',
  'services',
  'tunnels',
  'client',
];
const INT32_MAX = 2_147_483_647;

/**
 * The record as the next day's feed has it, with a day-to-day change of real feeds: its
 * client count moves, or a risk appears or goes. Never a no-op: the new count always differs
 * from the old one, and a risk is removed when present, added when absent.
 */
export function changeRecord(record: SpurRecord, rng: Random): SpurRecord {
  const client = record.client;
  if (client?.count !== undefined && rng.chance(0.6)) {
    return { ...record, client: { ...client, count: otherCount(client.count, rng) } };
  }
  const risk = rng.pick(RISKS);
  const risks = record.risks ?? [];
  return withField(record, 'risks', risks.includes(risk) ? risks.filter((r) => r !== risk) : [...risks, risk]);
}

/**
 * A new record at `address`, next to `source` and from the same operator, hoster and place,
 * like an exit server a VPN adds to a range overnight. Tunnel entries and exits are dropped:
 * they name the source's own servers. A single address is an `ip`, even next to a /32 `network`.
 */
export function neighborRecord(source: SpurRecord, address: string): SpurRecord {
  const { ip: _ip, network: _network, ...rest } = source;
  const record: SpurRecord = address.includes('/') ? { network: address, ...rest } : { ip: address, ...rest };
  if (source.tunnels !== undefined) record.tunnels = source.tunnels.map(({ entries: _entries, exits: _exits, ...tunnel }) => tunnel);
  return record;
}

/** A client count other than `count`: up or down by as much as half of it, never below 0 nor above INT32_MAX. */
export function otherCount(count: number, rng: Random): number {
  const delta = rng.int(1, Math.max(1, Math.ceil(count / 2)));
  const down = count - delta;
  return down >= 0 && (count + delta > INT32_MAX || rng.chance(0.5)) ? down : count + delta;
}

/** `record` with `key` set; a key the record lacks is inserted at its place in KEY_ORDER. */
function withField<K extends keyof SpurRecord>(record: SpurRecord, key: K, value: SpurRecord[K]): SpurRecord {
  if (key in record) return { ...record, [key]: value };
  const rank = (k: string): number => {
    const i = KEY_ORDER.indexOf(k);
    return i < 0 ? Infinity : i;
  };
  const result: Record<string, unknown> = {};
  let placed = false;
  for (const [k, v] of Object.entries(record)) {
    if (!placed && rank(k) > rank(key)) {
      result[key] = value;
      placed = true;
    }
    result[k] = v;
  }
  if (!placed) result[key] = value;
  return result;
}
