import type { SpurRecord } from '../feed/schema.ts';

/*
 * Spur's merge rules for a realtime line, a partial record (../shared/spec/spur-feed.md):
 * a scalar in the update replaces the stored one unless it is empty (absent, "", 0); each
 * list of labels becomes the union of both; tunnels gain the update's tunnels whose operator
 * is not already there. Objects (as, location, client, …) merge field by field.
 */

type JsonObject = Record<string, unknown>;

/** The lists that are unioned, by path. */
const UNION_LISTS: ReadonlySet<string> = new Set(['risks', 'services', 'client.behaviors', 'client.types', 'client.proxies']);

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What the update does not say: it leaves the stored value alone. (null counts as absent, an empty list as nothing to add.) */
export const isEmpty = (value: unknown): boolean =>
  value === undefined || value === null || value === '' || value === 0 || (Array.isArray(value) && value.length === 0);

/**
 * The stored record (undefined: none yet) with the partial update merged in. Answers `stored`
 * itself when the update changes nothing, so that merging a slot twice writes nothing.
 * Merging is associative: two updates of one key may be merged together first.
 */
export function mergeRecord(stored: SpurRecord | undefined, update: SpurRecord): SpurRecord {
  return mergeObject(stored, update, '') ?? {};
}

function mergeObject(stored: JsonObject | undefined, update: JsonObject, path: string): JsonObject | undefined {
  let merged: JsonObject | undefined;
  for (const [field, value] of Object.entries(update)) {
    const before = stored?.[field];
    const after = mergeField(before, value, path ? `${path}.${field}` : field);
    if (after === before) continue;
    merged ??= { ...stored };
    merged[field] = after;
  }
  return merged ?? stored;
}

function mergeField(stored: unknown, value: unknown, path: string): unknown {
  if (path === 'tunnels') return Array.isArray(value) ? addTunnels(stored, value) : stored;
  if (UNION_LISTS.has(path)) return Array.isArray(value) ? union(stored, value) : stored;
  if (isObject(value)) return mergeObject(isObject(stored) ? stored : undefined, value, path);
  return isEmpty(value) ? stored : equalScalar(stored, value) ? stored : value;
}

/** Scalars by value; an unknown field's list or object by its JSON. */
const equalScalar = (a: unknown, b: unknown): boolean =>
  a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));

function union(stored: unknown, values: unknown[]): unknown {
  const list: unknown[] = Array.isArray(stored) ? stored : [];
  const present = new Set(list);
  const added = values.filter((value) => !isEmpty(value) && !present.has(value) && present.add(value));
  return added.length ? [...list, ...added] : stored;
}

function addTunnels(stored: unknown, tunnels: unknown[]): unknown {
  const list: unknown[] = Array.isArray(stored) ? stored : [];
  const operators = new Set(list.map((tunnel) => (isObject(tunnel) ? tunnel.operator : undefined)));
  const added = tunnels.filter((tunnel) => {
    if (!isObject(tunnel) || operators.has(tunnel.operator)) return false;
    operators.add(tunnel.operator);
    return true;
  });
  return added.length ? [...list, ...added] : stored;
}
