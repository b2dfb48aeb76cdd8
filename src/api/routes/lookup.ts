import { parseRequestedIp, type RequestedIp } from '../../feed/ip.ts';
import type { Store, StoredRecord } from '../../store/types.ts';
import { errorBody } from '../errors.ts';
import type { ErrorBody } from '../schemas.ts';

/**
 * Every stored record for an address in any spelling: the address's own records before a
 * containing network's, then in feed order; with the key the client reads the answer under.
 */
export async function lookupAll(store: Store, text: string): Promise<RequestedIp & { records: StoredRecord[] }> {
  const requested = parseRequestedIp(text);
  return { ...requested, records: await store.lookup(requested.address) };
}

/** The 404 of an address, named by the key its client knows it by. */
export const notInData = (key: string): ErrorBody => errorBody(404, `${key} is not in the data`);
