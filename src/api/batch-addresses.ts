import { InvalidIpError, parseRequestedIp, type CanonicalIp } from '../feed/ip.ts';
import { InputError, type InvalidEntry } from '../errors.ts';
import { quoted } from './errors.ts';

/** Invalid entries named in a refused batch's message; all of them are in its "invalid". */
const INVALID_LISTED = 5;

/** The batch's addresses by their distinct keys; an InputError listing every entry that is not one, with why. */
export function parseAll(texts: string[]): Map<string, CanonicalIp> {
  const addresses = new Map<string, CanonicalIp>();
  const invalid: InvalidEntry[] = [];
  const listed: string[] = [];
  for (const text of texts) {
    try {
      const { address, key } = parseRequestedIp(text);
      addresses.set(key, address);
    } catch (err) {
      if (!(err instanceof InvalidIpError)) throw err;
      invalid.push({ text, reason: err.message });
      if (listed.length < INVALID_LISTED) listed.push(`${quoted(text)}${err.reason ? ` (${err.reason})` : ''}`);
    }
  }
  if (invalid.length > 0) {
    const more = invalid.length > INVALID_LISTED ? ` and ${invalid.length - INVALID_LISTED} more` : '';
    throw new InputError(`not IP addresses: ${listed.join(', ')}${more}`, invalid);
  }
  return addresses;
}
