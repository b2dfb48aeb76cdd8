import { parseIp, type CanonicalIp } from '../../feed/ip.ts';
import type { Store, StoredRecord } from '../../store/types.ts';
import { errorBody } from '../errors.ts';
import type { ErrorBody } from '../schemas.ts';

/**
 * The first stored record for an address in any spelling: the address's own record before a
 * containing network's, then in feed order (a later issue defines merging across feeds).
 */
export async function lookupFirst(store: Store, text: string): Promise<{ address: CanonicalIp; record: StoredRecord | undefined }> {
  const address = parseIp(text);
  const [record] = await store.lookup(address);
  return { address, record };
}

export const notInData = (address: CanonicalIp): ErrorBody => errorBody(404, `${address.text} is not in the data`);
