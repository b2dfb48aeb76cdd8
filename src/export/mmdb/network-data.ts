import { ipoidAnswer, shaped } from '../../api/ipoid-shape.ts';
import type { StoredRecord } from '../../store/types.ts';
import { double, uint32, type DataMap, type DataValue } from './data-section.ts';

/**
 * The data a network carries in the file: what `GET /feed/v1/ip/{ip}` answers for an address
 * in it (the same fields, names and merge), from `records` in the answer's order: the
 * network's own records, then those of the networks enclosing it, innermost first. Left out
 * are `ip` and `network`, which belong to one lookup (a reader gives the matched prefix
 * itself); `feeds` is always there, so that a single record names its feed too.
 */
export function networkData(records: readonly StoredRecord[], key: string): DataMap {
  const { ip: _ip, network: _network, feeds, ...answer } = ipoidAnswer(records.map(shaped), key);
  const fields: [string, DataValue][] = [['feeds', feeds ?? [records[0]!.feed]]];
  for (const [name, value] of Object.entries(answer)) {
    // The format's types, fixed per field: integers are uint32 (counts up to 2^31, seconds until 2106), the density a double.
    fields.push([name, typeof value === 'number' ? (name === 'conc_density' ? double(value) : uint32(value)) : value]);
  }
  return new Map(fields);
}
