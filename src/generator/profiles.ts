import {
  CLIENT_TYPES,
  DATACENTER_PLACES,
  HOSTING,
  ISPS,
  OPERATORS,
  PROXIES,
  RISK_PROFILES,
  VPN_SERVICES,
  placesIn,
  type AutonomousSystem,
  type Operator,
  type Place,
  type RiskProfile,
} from './distributions.ts';
import { weighted, type Random, type Weighted } from './random.ts';

/**
 * What the records of one address block share, as in real feeds: a /24 of VPN exits has one
 * operator, one hoster and one city; a residential range one ISP. Records then vary per host
 * around it (records.ts).
 */
export interface ClusterProfile {
  as: AutonomousSystem;
  organization: string | undefined;
  infrastructure: string;
  place: Place;
  risks: RiskProfile;
  services: readonly string[];
  operator: Operator | undefined;
  /** Residential proxy networks seen in the range. */
  proxies: readonly string[];
  behaviors: ReadonlyArray<readonly [string, number]>;
  clientChance: number;
  clientTypes: Weighted<string>;
  maxClients: number;
}

type Category = 'tunnel' | 'residential' | 'hosting';
const CATEGORIES = weighted<Category>([
  ['tunnel', 0.6],
  ['residential', 0.3],
  ['hosting', 0.1],
]);

const USER_BEHAVIORS = [
  ['FILE_SHARING', 0.12],
  ['TOR_PROXY_USER', 0.03],
] as const;
const TOR_BEHAVIORS = [
  ['TOR_PROXY_USER', 0.5],
  ['FILE_SHARING', 0.05],
] as const;

export function clusterProfile(rng: Random): ClusterProfile {
  const category = rng.pickWeighted(CATEGORIES);
  if (category === 'tunnel') return tunnelProfile(rng);
  if (category === 'residential') return residentialProfile(rng);
  return hostingProfile(rng);
}

function tunnelProfile(rng: Random): ClusterProfile {
  const operator = rng.pickWeighted(OPERATORS);
  return {
    as: rng.pickWeighted(HOSTING),
    organization: operator.organization,
    infrastructure: 'DATACENTER',
    place: rng.pickWeighted(DATACENTER_PLACES),
    risks: RISK_PROFILES[operator.type],
    services: operator.type === 'VPN' ? rng.chosen(VPN_SERVICES) : [],
    operator,
    proxies: [],
    behaviors: operator.type === 'TOR' ? TOR_BEHAVIORS : USER_BEHAVIORS,
    clientChance: operator.type === 'VPN' ? 0.5 : 0.35,
    clientTypes: CLIENT_TYPES.datacenter,
    maxClients: operator.type === 'VPN' ? 2000 : 500,
  };
}

export function residentialProfile(rng: Random): ClusterProfile {
  const isp = rng.pickWeighted(ISPS);
  return {
    as: { number: isp.number, organization: isp.organization },
    organization: undefined,
    infrastructure: isp.infrastructure,
    place: rng.pick(placesIn(isp.country)),
    risks: RISK_PROFILES.residential,
    services: [],
    operator: undefined,
    proxies: rng.pickDistinct(PROXIES, rng.int(1, 3)),
    behaviors: USER_BEHAVIORS,
    clientChance: 0.95,
    clientTypes: isp.infrastructure === 'MOBILE' ? CLIENT_TYPES.mobile : CLIENT_TYPES.residential,
    maxClients: 30,
  };
}

/** Datacenter addresses flagged for what they do (scraping, brute force), not for a tunnel. */
function hostingProfile(rng: Random): ClusterProfile {
  const as = rng.pickWeighted(HOSTING);
  return {
    as,
    organization: rng.chance(0.5) ? as.organization : undefined,
    infrastructure: 'DATACENTER',
    place: rng.pickWeighted(DATACENTER_PLACES),
    risks: RISK_PROFILES.hosting,
    services: [],
    operator: undefined,
    proxies: [],
    behaviors: [],
    clientChance: 0.6,
    clientTypes: CLIENT_TYPES.headless,
    maxClients: 50,
  };
}
