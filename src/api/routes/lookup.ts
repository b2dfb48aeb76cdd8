import { parseIp, type CanonicalIp } from '../../feed/ip.ts';
import type { Store, StoredRecord } from '../../store/types.ts';
import { errorBody } from '../errors.ts';
import type { ErrorBody } from '../schemas.ts';

/**
 * Every stored record for an address in any spelling: the address's own records before a
 * containing network's, then in feed order.
 */
export async function lookupAll(store: Store, text: string): Promise<{ address: CanonicalIp; records: StoredRecord[] }> {
  const address = parseIp(text);
  return { address, records: await store.lookup(address) };
}

export const notInData = (address: CanonicalIp): ErrorBody => errorBody(404, `${address.text} is not in the data`);
