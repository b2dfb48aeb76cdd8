/** Spur's anonymous-IP feeds (../shared/spec/spur-feed.md), as IPoid names and stores them. */
export const FEED_TYPES = ['anonymous', 'anonymous-residential', 'anonymous-ipv6', 'anonymous-residential-ipv6'] as const;
export type FeedType = (typeof FEED_TYPES)[number];

/** Small ids used in the tables; the `feed` table maps them to names for people. */
export const FEED_IDS: Record<FeedType, number> = {
  anonymous: 1,
  'anonymous-residential': 2,
  'anonymous-ipv6': 3,
  'anonymous-residential-ipv6': 4,
};

export function feedName(id: number): FeedType {
  const name = FEED_TYPES[id - 1];
  if (!name) throw new Error(`unknown feed id ${id}`);
  return name;
}
