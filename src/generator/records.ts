import type { SpurRecord } from '../feed/schema.ts';
import { ipv4Text, type AddressKind } from './addresses.ts';
import { DATACENTER_PLACES, PROXIES, type Operator, type Place } from './distributions.ts';
import type { ClusterProfile } from './profiles.ts';
import type { Random } from './random.ts';

type Tunnel = NonNullable<SpurRecord['tunnels']>[number];
type Client = NonNullable<SpurRecord['client']>;

/** Share of records that carry nothing but their address (Spur knows the IP, nothing else). */
const BARE_CHANCE = 0.02;
const ENTRIES_CHANCE = 0.1;
const FIRST_UNICAST = 0x01000000;
const LAST_UNICAST = 0xdfffffff;

/**
 * One feed record for `address` in a cluster. Fields are assigned in the spec's key order
 * (JSON.stringify keeps insertion order), and each optional field is present with its own
 * probability, so consumers meet every "field absent" case.
 */
export function buildRecord(profile: ClusterProfile, kind: AddressKind, address: string, rng: Random): SpurRecord {
  const record: SpurRecord = address.includes('/') ? { network: address } : { ip: address };
  if (rng.chance(BARE_CHANCE)) return record;
  if (rng.chance(0.98)) record.as = { number: profile.as.number, organization: profile.as.organization };
  if (profile.organization !== undefined && rng.chance(0.95)) record.organization = profile.organization;
  if (rng.chance(0.97)) record.infrastructure = profile.infrastructure;
  if (rng.chance(0.97)) record.location = placeFields(profile.place);
  record.risks = [...profile.risks.base, ...rng.chosen(profile.risks.extras)];
  if (profile.services.length > 0 && rng.chance(0.85)) record.services = [...profile.services];
  if (profile.operator !== undefined) record.tunnels = [tunnel(profile.operator, kind, address, rng)];
  if (rng.chance(profile.clientChance)) record.client = client(profile, rng);
  return record;
}

function tunnel(operator: Operator, kind: AddressKind, address: string, rng: Random): Tunnel {
  const result: Tunnel = {
    operator: operator.name,
    type: operator.type,
    anonymous: operator.type !== 'PROXY' || rng.chance(0.9),
  };
  if (operator.type === 'VPN' && kind === 'ipv4' && !address.includes('/') && rng.chance(ENTRIES_CHANCE)) {
    result.entries = [ipv4Text(rng.int(FIRST_UNICAST, LAST_UNICAST))];
    result.exits = [address];
  }
  return result;
}

function client(profile: ClusterProfile, rng: Random): Client {
  const result: Client = {};
  const behaviors = rng.chosen(profile.behaviors);
  if (behaviors.length > 0) result.behaviors = behaviors;
  if (rng.chance(0.9)) result.types = rng.pickDistinct(profile.clientTypes, 1 + Number(rng.chance(0.3)) + Number(rng.chance(0.1)));
  const proxies = clientProxies(profile, rng);
  if (proxies.length > 0) result.proxies = proxies;
  if (rng.chance(0.95)) {
    const count = rng.logUniform(profile.maxClients);
    result.count = count;
    if (rng.chance(0.8)) result.countries = Math.min(count, rng.logUniform(40));
    if (count > 1 && rng.chance(0.7)) result.spread = rng.int(1, 20_000);
  }
  if (rng.chance(0.35)) {
    const place = rng.chance(0.7) ? profile.place : rng.pickWeighted(DATACENTER_PLACES);
    result.concentration = {
      ...placeFields(place),
      geohash: place.geohash,
      density: Math.round(rng.float() * 100) / 100,
      skew: rng.int(0, 5000),
    };
  }
  return result;
}

/** Residential ranges show their own proxy networks; elsewhere a proxy client is rare. */
function clientProxies(profile: ClusterProfile, rng: Random): string[] {
  if (profile.proxies.length === 0) return rng.chance(0.03) ? [rng.pickWeighted(PROXIES)] : [];
  const some = profile.proxies.filter(() => rng.chance(0.7));
  return some.length > 0 ? some : [profile.proxies[0]!];
}

function placeFields(place: Place): { city: string; state?: string; country: string } {
  return place.state === undefined
    ? { city: place.city, country: place.country }
    : { city: place.city, state: place.state, country: place.country };
}
