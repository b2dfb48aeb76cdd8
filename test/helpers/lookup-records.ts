/*
 * The records the lookup index's patch and fold tests start from: addresses, an IPv4 network
 * and an IPv6 one in the residential feed, and a key of it in the anonymous feed too.
 */

export const RESIDENTIAL_DAY = [
  { ip: '198.51.100.1', organization: 'One', client: { count: 1 } },
  { ip: '198.51.100.2', organization: 'Two', risks: ['TUNNEL'] },
  { network: '203.0.113.0/24', organization: 'Outer' },
  { network: '2001:db8::/48', organization: 'Carrier' },
];

/** The other feed holds a key of the first: a lookup gives both feeds' records, in feed order. */
export const ANONYMOUS_DAY = [{ ip: '198.51.100.2', organization: 'Anon Two' }];
