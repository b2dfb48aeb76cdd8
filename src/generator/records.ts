import { ipv4Text, type AddressKind } from './addresses.ts';
import { DATACENTER_PLACES, PROXIES, type Place } from './distributions.ts';
import type { ClusterProfile } from './profiles.ts';
import { mapWeighted, type Random, type Weighted } from './random.ts';

/*
 * Records are written straight as JSON text: building an object per record and handing it
 * to JSON.stringify took most of a feed's time. What a cluster shares is serialised once
 * (ClusterJson), table values once per process, and a record only joins the pieces its
 * draws select. The text is what JSON.stringify would give for the record.
 */

/** Share of records that carry nothing but their address (Spur knows the IP, nothing else). */
const BARE_CHANCE = 0.02;
const ENTRIES_CHANCE = 0.1;
const FIRST_UNICAST = 0x01000000;
const LAST_UNICAST = 0xdfffffff;

const json = (value: unknown): string => JSON.stringify(value);
type JsonChances = ReadonlyArray<readonly [json: string, probability: number]>;

/** A cluster's shared fields as JSON, each with its leading comma and key. */
export interface ClusterJson {
  profile: ClusterProfile;
  as: string;
  organization: string | undefined;
  infrastructure: string;
  location: string;
  risks: string;
  riskExtras: JsonChances;
  services: string | undefined;
  /** `,"tunnels":[{…,"anonymous":` up to the record's own values. */
  tunnel: string | undefined;
  behaviors: JsonChances;
  clientTypes: Weighted<string>;
  proxies: readonly string[];
  /** The cluster's place as a client concentration, up to its density. */
  concentration: string;
}

const PROXIES_JSON = mapWeighted(PROXIES, json);
const CONCENTRATIONS = mapWeighted(DATACENTER_PLACES, concentrationJson);
const chancesJson = (table: ReadonlyArray<readonly [string, number]>): JsonChances => table.map(([value, p]) => [json(value), p]);

export function clusterJson(profile: ClusterProfile): ClusterJson {
  const { as, operator } = profile;
  return {
    profile,
    as: `,"as":${json({ number: as.number, organization: as.organization })}`,
    organization: profile.organization === undefined ? undefined : `,"organization":${json(profile.organization)}`,
    infrastructure: `,"infrastructure":${json(profile.infrastructure)}`,
    location: `,"location":${json(placeFields(profile.place))}`,
    risks: profile.risks.base.map(json).join(','),
    riskExtras: chancesJson(profile.risks.extras),
    services: profile.services.length > 0 ? `,"services":${json(profile.services)}` : undefined,
    tunnel: operator && `,"tunnels":[{"operator":${json(operator.name)},"type":${json(operator.type)},"anonymous":`,
    behaviors: chancesJson(profile.behaviors),
    clientTypes: mapWeighted(profile.clientTypes, json),
    proxies: profile.proxies.map(json),
    concentration: concentrationJson(profile.place),
  };
}

/**
 * One feed record for `address` in a cluster, as a JSON line (without its newline). Fields
 * come in the spec's key order, and each optional field is present with its own
 * probability, so consumers meet every "field absent" case.
 */
export function recordLine(cluster: ClusterJson, kind: AddressKind, address: string, rng: Random): string {
  const { profile } = cluster;
  const network = address.includes('/');
  let line = network ? `{"network":"${address}"` : `{"ip":"${address}"`;
  if (rng.chance(BARE_CHANCE)) return `${line}}`;
  if (rng.chance(0.98)) line += cluster.as;
  if (cluster.organization !== undefined && rng.chance(0.95)) line += cluster.organization;
  if (rng.chance(0.97)) line += cluster.infrastructure;
  if (rng.chance(0.97)) line += cluster.location;
  line += `,"risks":[${joinChosen(cluster.risks, cluster.riskExtras, rng)}]`;
  if (cluster.services !== undefined && rng.chance(0.85)) line += cluster.services;
  if (cluster.tunnel !== undefined) {
    const type = profile.operator!.type;
    line += `${cluster.tunnel}${type !== 'PROXY' || rng.chance(0.9)}`;
    if (type === 'VPN' && kind === 'ipv4' && !network && rng.chance(ENTRIES_CHANCE)) {
      line += `,"entries":["${ipv4Text(rng.int(FIRST_UNICAST, LAST_UNICAST))}"],"exits":["${address}"]`;
    }
    line += '}]';
  }
  if (rng.chance(profile.clientChance)) line += `,"client":{${client(cluster, rng)}}`;
  return `${line}}`;
}

/** The client object's members (without braces): each present with its own chance. */
function client(cluster: ClusterJson, rng: Random): string {
  const { profile } = cluster;
  let members = '';
  let comma = ''; // before every member but the first
  const behaviors = joinChosen('', cluster.behaviors, rng);
  if (behaviors !== '') {
    members = `"behaviors":[${behaviors}]`;
    comma = ',';
  }
  if (rng.chance(0.9)) {
    const types = rng.pickDistinct(cluster.clientTypes, 1 + Number(rng.chance(0.3)) + Number(rng.chance(0.1)));
    members += `${comma}"types":[${types.join(',')}]`;
    comma = ',';
  }
  const proxies = clientProxies(cluster, rng);
  if (proxies !== '') {
    members += `${comma}"proxies":[${proxies}]`;
    comma = ',';
  }
  if (rng.chance(0.95)) {
    const count = rng.logUniform(profile.maxClients);
    members += `${comma}"count":${count}`;
    comma = ',';
    if (rng.chance(0.8)) members += `,"countries":${Math.min(count, rng.logUniform(40))}`;
    if (count > 1 && rng.chance(0.7)) members += `,"spread":${rng.int(1, 20_000)}`;
  }
  if (rng.chance(0.35)) {
    const place = rng.chance(0.7) ? cluster.concentration : rng.pickWeighted(CONCENTRATIONS);
    members += `${comma}"concentration":${place},"density":${Math.round(rng.float() * 100) / 100},"skew":${rng.int(0, 5000)}}`;
  }
  return members;
}

/** Residential ranges show their own proxy networks; elsewhere a proxy client is rare. */
function clientProxies(cluster: ClusterJson, rng: Random): string {
  const { proxies } = cluster;
  if (proxies.length === 0) return rng.chance(0.03) ? rng.pickWeighted(PROXIES_JSON) : '';
  let some = '';
  for (const proxy of proxies) if (rng.chance(0.7)) some += some === '' ? proxy : `,${proxy}`;
  return some === '' ? proxies[0]! : some;
}

/** `base`, then the values whose chance comes up, as comma-separated JSON. */
function joinChosen(base: string, table: JsonChances, rng: Random): string {
  let joined = base;
  for (const [value, probability] of table) if (rng.chance(probability)) joined += joined === '' ? value : `,${value}`;
  return joined;
}

export function placeFields(place: Place): { city: string; state?: string; country: string } {
  return place.state === undefined
    ? { city: place.city, country: place.country }
    : { city: place.city, state: place.state, country: place.country };
}

/** A place as a client concentration: its fields and geohash, the object left open. */
function concentrationJson(place: Place): string {
  return json({ ...placeFields(place), geohash: place.geohash }).slice(0, -1);
}
