import type { FeedRecord } from '../feed/record.ts';

/**
 * The readable columns stored beside each record's JSON, so that a person querying the
 * tables sees the main facts without parsing JSON. Both stores write exactly these.
 */
export interface RecordColumns {
  ip_text: string;
  organization: string | null;
  as_number: number | null;
  as_organization: string | null;
  infrastructure: string | null;
  location_country: string | null;
  location_state: string | null;
  location_city: string | null;
  client_count: number | null;
  client_countries: number | null;
}

export function recordColumns(record: FeedRecord): RecordColumns {
  const c = record.context;
  return {
    ip_text: record.address.text,
    organization: c.organization ?? null,
    as_number: c.as?.number ?? null,
    as_organization: c.as?.organization ?? null,
    infrastructure: c.infrastructure ?? null,
    location_country: c.location?.country ?? null,
    location_state: c.location?.state ?? null,
    location_city: c.location?.city ?? null,
    client_count: c.client?.count ?? null,
    client_countries: c.client?.countries ?? null,
  };
}

export const RECORD_COLUMN_NAMES = [
  'ip_text',
  'organization',
  'as_number',
  'as_organization',
  'infrastructure',
  'location_country',
  'location_state',
  'location_city',
  'client_count',
  'client_countries',
] as const satisfies readonly (keyof RecordColumns)[];

/** The column values in RECORD_COLUMN_NAMES order, for positional statement parameters. */
export function recordColumnValues(record: FeedRecord): (string | number | null)[] {
  const columns = recordColumns(record);
  return RECORD_COLUMN_NAMES.map((name) => columns[name]);
}
