import { weighted, zipf, type Weighted } from './random.ts';

/*
 * Value tables for generated feeds, shaped after real Spur data: a few operators, proxy
 * networks and hosters account for most records (Zipf-like), the rest form a long tail.
 * Table order is popularity rank.
 */

export interface Operator {
  name: string;
  type: 'VPN' | 'PROXY' | 'TOR';
  organization?: string;
}

export interface Place {
  city: string;
  state?: string;
  country: string;
  geohash: string;
}

export interface AutonomousSystem {
  number: number;
  organization: string;
}

export interface Isp extends AutonomousSystem {
  country: string;
  infrastructure: 'RESIDENTIAL' | 'MOBILE' | 'SATELLITE';
}

export const RISKS = ['TUNNEL', 'CALLBACK_PROXY', 'GEO_MISMATCH', 'LOGIN_BRUTEFORCE', 'WEB_SCRAPING', 'SPAM'] as const;

const op = (name: string, type: Operator['type'], organization?: string): Operator =>
  organization === undefined ? { name, type } : { name, type, organization };

export const OPERATORS: Weighted<Operator> = zipf([
  op('NORD_VPN', 'VPN', 'Nord Security'),
  op('EXPRESS_VPN', 'VPN', 'Express Technologies Ltd'),
  op('PROTON_VPN', 'VPN', 'Proton AG'),
  op('SURFSHARK_VPN', 'VPN', 'Surfshark B.V.'),
  op('PRIVATE_INTERNET_ACCESS', 'VPN', 'Private Internet Access, Inc.'),
  op('TOR', 'TOR'),
  op('CYBERGHOST_VPN', 'VPN', 'CyberGhost S.R.L.'),
  op('MULLVAD_VPN', 'VPN', 'Mullvad VPN AB'),
  op('IPVANISH_VPN', 'VPN', 'IPVanish'),
  op('WINDSCRIBE_VPN', 'VPN', 'Windscribe Limited'),
  op('OXYLABS_PROXY', 'PROXY', 'Oxylabs'),
  op('HOTSPOT_SHIELD_VPN', 'VPN', 'Pango'),
  op('PURE_VPN', 'VPN', 'PureVPN'),
  op('LUMINATI_PROXY', 'PROXY', 'Bright Data Ltd.'),
  op('ATLAS_VPN', 'VPN', 'Atlas VPN'),
  op('TUNNELBEAR_VPN', 'VPN', 'TunnelBear'),
  op('HIDE_ME_VPN', 'VPN', 'eVenture Limited'),
  op('VYPR_VPN', 'VPN', 'Golden Frog'),
  op('WEBSHARE_PROXY', 'PROXY', 'Webshare'),
  op('PRIVADO_VPN', 'VPN', 'Privado'),
  op('IVPN', 'VPN', 'IVPN'),
  op('AIRVPN', 'VPN', 'AirVPN'),
  op('TORGUARD_VPN', 'VPN', 'TorGuard'),
  op('STRONG_VPN', 'VPN', 'StrongVPN'),
  op('ASTRILL_VPN', 'VPN', 'Astrill'),
  op('SMARTPROXY_PROXY', 'PROXY', 'Smartproxy'),
  op('ZENMATE_VPN', 'VPN', 'ZenMate'),
  op('HMA_VPN', 'VPN', 'Privax Ltd'),
  op('PERFECT_PRIVACY_VPN', 'VPN', 'Perfect Privacy'),
  op('OVPN_VPN', 'VPN', 'OVPN Integritet AB'),
  op('IPROYAL_PROXY', 'PROXY', 'IPRoyal'),
  op('VPN_UNLIMITED', 'VPN', 'KeepSolid Inc.'),
]);

/** Residential proxy networks (client.proxies). */
export const PROXIES: Weighted<string> = zipf([
  'LUMINATI_PROXY',
  'OXYLABS_PROXY',
  '911_PROXY',
  'IPROYAL_PROXY',
  'SOAX_PROXY',
  'NETNUT_PROXY',
  'SMARTPROXY_PROXY',
  'PROXYRACK_PROXY',
  'HONEYGAIN_PROXY',
  'PACKETSTREAM_PROXY',
  'INFATICA_PROXY',
  'ASOCKS_PROXY',
  'GEONODE_PROXY',
  'PROXY_SELLER_PROXY',
  'RAYOBYTE_PROXY',
]);

/** Protocols a VPN range offers, each with the chance that a range offers it. */
export const VPN_SERVICES: ReadonlyArray<readonly [string, number]> = [
  ['OPENVPN', 0.8],
  ['WIREGUARD', 0.6],
  ['IPSEC', 0.4],
  ['L2TP', 0.15],
  ['PPTP', 0.1],
  ['SSH', 0.05],
];

const hoster = (number: number, organization: string): AutonomousSystem => ({ number, organization });

export const HOSTING: Weighted<AutonomousSystem> = zipf(
  [
    hoster(9009, 'M247 Europe SRL'),
    hoster(60068, 'Datacamp Limited'),
    hoster(16276, 'OVH SAS'),
    hoster(24940, 'Hetzner Online GmbH'),
    hoster(14061, 'DigitalOcean, LLC'),
    hoster(20473, 'The Constant Company, LLC'),
    hoster(60781, 'Leaseweb Netherlands B.V.'),
    hoster(63949, 'Akamai Connected Cloud'),
    hoster(51167, 'Contabo GmbH'),
    hoster(16509, 'Amazon.com, Inc.'),
    hoster(8075, 'Microsoft Corporation'),
    hoster(396982, 'Google LLC'),
    hoster(21859, 'Zenlayer Inc'),
    hoster(62240, 'Clouvider Limited'),
    hoster(39351, '31173 Services AB'),
    hoster(11878, 'tzulo, inc.'),
    hoster(207137, 'PacketHub S.A.'),
  ],
  0.9,
);

const isp = (number: number, organization: string, country: string, infrastructure: Isp['infrastructure'] = 'RESIDENTIAL'): Isp => ({
  number,
  organization,
  country,
  infrastructure,
});

export const ISPS: Weighted<Isp> = zipf(
  [
    isp(7922, 'Comcast Cable Communications, LLC', 'US'),
    isp(26599, 'Telefonica Brasil S.A', 'BR'),
    isp(55836, 'Reliance Jio Infocomm Limited', 'IN', 'MOBILE'),
    isp(7552, 'Viettel Group', 'VN'),
    isp(20115, 'Charter Communications Inc', 'US'),
    isp(3320, 'Deutsche Telekom AG', 'DE'),
    isp(28573, 'Claro NXT Telecomunicacoes Ltda', 'BR'),
    isp(21928, 'T-Mobile USA, Inc.', 'US', 'MOBILE'),
    isp(7018, 'AT&T Services, Inc.', 'US'),
    isp(9121, 'Turk Telekom', 'TR'),
    isp(12389, 'PJSC Rostelecom', 'RU'),
    isp(3215, 'Orange S.A.', 'FR'),
    isp(7713, 'PT Telekomunikasi Indonesia', 'ID'),
    isp(8151, 'UNINET', 'MX'),
    isp(2856, 'British Telecommunications PLC', 'GB'),
    isp(29465, 'MTN NIGERIA Communication limited', 'NG', 'MOBILE'),
    isp(8452, 'TE Data', 'EG'),
    isp(3269, 'Telecom Italia S.p.A.', 'IT'),
    isp(15895, 'Kyivstar PJSC', 'UA', 'MOBILE'),
    isp(5617, 'Orange Polska Spolka Akcyjna', 'PL'),
    isp(3352, 'TELEFONICA DE ESPANA S.A.U.', 'ES'),
    isp(36994, 'Vodacom', 'ZA', 'MOBILE'),
    isp(812, 'Rogers Communications Canada Inc.', 'CA'),
    isp(1221, 'Telstra Limited', 'AU'),
    isp(4713, 'NTT Communications Corporation', 'JP'),
    isp(14593, 'Space Exploration Technologies Corporation', 'US', 'SATELLITE'),
  ],
  0.8,
);

const place = (city: string, state: string | undefined, country: string, geohash: string): Place =>
  state === undefined ? { city, country, geohash } : { city, state, country, geohash };

/** Cities with their 5-character geohash, grouped by country. */
const PLACES: readonly Place[] = [
  place('Ashburn', 'Virginia', 'US', 'dqbyh'),
  place('New York', 'New York', 'US', 'dr5re'),
  place('Los Angeles', 'California', 'US', '9q5ct'),
  place('Dallas', 'Texas', 'US', '9vg4m'),
  place('Chicago', 'Illinois', 'US', 'dp3wj'),
  place('Miami', 'Florida', 'US', 'dhwfx'),
  place('Seattle', 'Washington', 'US', 'c23nb'),
  place('Tampa', 'Florida', 'US', 'dhvr5'),
  place('Frankfurt am Main', 'Hesse', 'DE', 'u0yjj'),
  place('Berlin', 'Berlin', 'DE', 'u33dc'),
  place('Amsterdam', 'North Holland', 'NL', 'u173z'),
  place('London', 'England', 'GB', 'gcpvj'),
  place('Manchester', 'England', 'GB', 'gcw2h'),
  place('Paris', 'Île-de-France', 'FR', 'u09tv'),
  place('Stockholm', 'Stockholm County', 'SE', 'u6sce'),
  place('Zürich', 'Zurich', 'CH', 'u0qjd'),
  place('Tokyo', 'Tokyo', 'JP', 'xn76c'),
  place('Singapore', undefined, 'SG', 'w21zd'),
  place('Hong Kong', undefined, 'HK', 'wecnv'),
  place('Toronto', 'Ontario', 'CA', 'dpz83'),
  place('Sydney', 'New South Wales', 'AU', 'r3gx2'),
  place('São Paulo', 'São Paulo', 'BR', '6gyf4'),
  place('Rio de Janeiro', 'Rio de Janeiro', 'BR', '75cm9'),
  place('Mumbai', 'Maharashtra', 'IN', 'te7ud'),
  place('Delhi', 'Delhi', 'IN', 'ttng6'),
  place('Hanoi', 'Hanoi', 'VN', 'w7er8'),
  place('Ho Chi Minh City', 'Ho Chi Minh', 'VN', 'w3gvd'),
  place('Istanbul', 'Istanbul', 'TR', 'sxk97'),
  place('Moscow', 'Moscow', 'RU', 'ucfv0'),
  place('Warsaw', 'Mazovia', 'PL', 'u3qcn'),
  place('Łódź', 'Łódź Voivodeship', 'PL', 'u3jy6'),
  place('Madrid', 'Madrid', 'ES', 'ezjmg'),
  place('Milan', 'Lombardy', 'IT', 'u0nd9'),
  place('Rome', 'Lazio', 'IT', 'sr2yk'),
  place('Bucharest', 'Bucharest', 'RO', 'sxfs9'),
  place('Kyiv', 'Kyiv City', 'UA', 'u8vxn'),
  place('Johannesburg', 'Gauteng', 'ZA', 'ke7fy'),
  place('Mexico City', 'Mexico City', 'MX', '9g3w8'),
  place('Jakarta', 'Jakarta', 'ID', 'qqgux'),
  place('Bangkok', 'Bangkok', 'TH', 'w4rqq'),
  place('Cairo', 'Cairo Governorate', 'EG', 'stq4y'),
  place('Lagos', 'Lagos', 'NG', 's14mh'),
];

/** Where datacenter ranges (VPN exits, hosters) are: a handful of hubs dominate. */
export const DATACENTER_PLACES: Weighted<Place> = zipf(
  [
    'Ashburn',
    'Frankfurt am Main',
    'Amsterdam',
    'London',
    'Los Angeles',
    'New York',
    'Dallas',
    'Paris',
    'Singapore',
    'Tokyo',
    'Chicago',
    'Miami',
    'Stockholm',
    'Zürich',
    'Toronto',
    'Hong Kong',
    'Sydney',
    'Seattle',
    'Madrid',
    'Milan',
    'Bucharest',
    'Warsaw',
    'São Paulo',
    'Johannesburg',
    'Mumbai',
    'Tampa',
    'Istanbul',
    'Kyiv',
  ].map(placeNamed),
  0.9,
);

/** Cities of a country, for residential ranges whose ISP fixes the country. */
export function placesIn(country: string): readonly Place[] {
  const places = PLACES.filter((p) => p.country === country);
  if (places.length === 0) throw new Error(`no place in country ${country}`);
  return places;
}

function placeNamed(city: string): Place {
  const found = PLACES.find((p) => p.city === city);
  if (found === undefined) throw new Error(`no place named ${city}`);
  return found;
}

export const CLIENT_TYPES = {
  datacenter: weighted([
    ['DESKTOP', 0.5],
    ['MOBILE', 0.3],
    ['HEADLESS', 0.1],
    ['UNKNOWN', 0.1],
  ]),
  residential: weighted([
    ['DESKTOP', 0.35],
    ['MOBILE', 0.35],
    ['IOT', 0.15],
    ['UNKNOWN', 0.15],
  ]),
  mobile: weighted([
    ['MOBILE', 0.85],
    ['UNKNOWN', 0.15],
  ]),
  headless: weighted([
    ['HEADLESS', 0.8],
    ['UNKNOWN', 0.2],
  ]),
} as const;

/** Risks every record of a kind of range has, and extra risks with their chance per record. */
export interface RiskProfile {
  base: readonly string[];
  extras: ReadonlyArray<readonly [string, number]>;
}

export const RISK_PROFILES: Record<'VPN' | 'PROXY' | 'TOR' | 'residential' | 'hosting', RiskProfile> = {
  VPN: {
    base: ['TUNNEL'],
    extras: [
      ['GEO_MISMATCH', 0.05],
      ['WEB_SCRAPING', 0.04],
      ['LOGIN_BRUTEFORCE', 0.03],
      ['CALLBACK_PROXY', 0.02],
      ['SPAM', 0.02],
    ],
  },
  PROXY: {
    base: ['TUNNEL'],
    extras: [
      ['WEB_SCRAPING', 0.3],
      ['CALLBACK_PROXY', 0.1],
      ['LOGIN_BRUTEFORCE', 0.1],
      ['SPAM', 0.05],
    ],
  },
  TOR: {
    base: ['TUNNEL'],
    extras: [
      ['WEB_SCRAPING', 0.3],
      ['LOGIN_BRUTEFORCE', 0.2],
      ['SPAM', 0.1],
    ],
  },
  residential: {
    base: ['CALLBACK_PROXY'],
    extras: [
      ['GEO_MISMATCH', 0.35],
      ['WEB_SCRAPING', 0.1],
      ['LOGIN_BRUTEFORCE', 0.05],
    ],
  },
  hosting: {
    base: [],
    extras: [
      ['WEB_SCRAPING', 0.6],
      ['LOGIN_BRUTEFORCE', 0.3],
      ['SPAM', 0.2],
    ],
  },
};
