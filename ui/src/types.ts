/** The answers the console reads, as the API's OpenAPI description gives them. */

export interface IpoidRecord {
  ip: string;
  org: string;
  client_count: number;
  types: string[];
  countries: number;
  location_country: string;
  risks: string[];
  proxies: string[];
  behaviors: string[];
  tunnels: string[];
  last_updated: number;
  conc_city: string;
  conc_country: string;
  network?: string;
  feeds?: string[];
}

/** The parts of a Spur IP Context object the console shows beside the stored object itself. */
export interface SpurContext {
  ip?: string;
  network?: string;
  tunnels?: { operator?: string; type?: string; anonymous?: boolean }[];
  [field: string]: unknown;
}

export interface ImportRun {
  id: number;
  feed: string;
  kind: 'full' | 'realtime';
  slot: string | null;
  feedDate: string | null;
  dataDate: string;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  linesRead: number;
  skipped: number;
  skippedSample: { line: number; reason: string }[];
  inserted: number;
  updated: number;
  deleted: number;
  records: number;
  status: 'succeeded' | 'failed' | 'refused';
  error: string | null;
}

export interface FeedInfo {
  feed: string;
  feedDate: string | null;
  ageSeconds: number | null;
  records: number;
  realtime: { slot: string; lagSeconds: number } | null;
  refused: { feedDate: string | null; error: string } | null;
}

export interface Info {
  version: string;
  store: string;
  staleAfterSeconds: number | null;
  historyDays: number;
  feeds: FeedInfo[];
}

export interface LabelCount {
  value: string;
  count: number;
  then?: number;
  added?: number;
  removed?: number;
}

export type Labels = Record<string, LabelCount[]>;

export interface ListItem extends IpoidRecord {
  feed: string;
}

export interface ListPage {
  ips: ListItem[];
  next: string | null;
}

export interface AddressHistory {
  ip: string;
  window: { from: string; to: string };
  records: {
    key: string;
    feed: string;
    versions: { first: string; last: string; last_updated: number; record: SpurContext }[];
    labels: { kind: string; value: string; first_seen: string; last_seen: string }[];
  }[];
}
