import type { RecordFields } from '../api/ipoid-shape.ts';

/** The fields of a record in IPoid's shape, in the answer's order: the lookup index stores one column of each. */
export const FIELDS = [
  'org',
  'client_count',
  'types',
  'conc_city',
  'conc_state',
  'conc_country',
  'countries',
  'location_country',
  'risks',
  'proxies',
  'behaviors',
  'tunnels',
  'conc_geohash',
  'conc_skew',
  'conc_density',
] as const satisfies readonly (keyof RecordFields)[];

export type FieldValue = RecordFields[(typeof FIELDS)[number]];

const ARRAY_FIELDS = new Set<string>(['types', 'risks', 'proxies', 'behaviors', 'tunnels']);

/**
 * One field's distinct values, numbered in first-seen order. Records share few distinct values
 * of each field (a few hundred countries, operators or label sets), so a record stores numbers
 * and every record with the same value shares one frozen copy of it.
 */
export class FieldDictionary {
  readonly values: FieldValue[] = [];
  readonly #ids = new Map<string | number | undefined, number>();
  readonly #isArray: boolean;

  constructor(field: (typeof FIELDS)[number]) {
    this.#isArray = ARRAY_FIELDS.has(field);
  }

  idOf(value: FieldValue): number {
    // Arrays are told apart by content; scalars (text, numbers, absent) are their own Map keys.
    const key = this.#isArray ? JSON.stringify(value) : (value as string | number | undefined);
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(Array.isArray(value) ? (Object.freeze(value) as string[]) : value);
      this.#ids.set(key, id);
    }
    return id;
  }
}
