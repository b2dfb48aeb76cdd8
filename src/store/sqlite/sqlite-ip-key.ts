/*
 * ip_label's address (its column `ip_key`): ip_data's 16-byte address, shortened for IPv4
 * and sorted the same way. ip_label holds six or seven rows a record, nine in ten of them
 * IPv4, and the 16-byte form spends 12 bytes of every IPv4 row on the IPv4-mapped prefix
 * (::ffff:): the table was 192 of the 1M store's 453 MiB. A key is a tag byte, then
 * - x'01' and the 4 bytes of an IPv4 address (::ffff:a.b.c.d);
 * - x'00' or x'02' and the 16 bytes of any other address, below or above the IPv4-mapped range,
 * so keys compare as the addresses do: a label's rows stay in address order, a prefix is one
 * range of keys, and a cursor's address is a key.
 */

/** The first 12 bytes of an IPv4-mapped address. */
const MAPPED_PREFIX = Buffer.from('00000000000000000000ffff', 'hex');
const MAPPED_PREFIX_SQL = `x'${MAPPED_PREFIX.toString('hex')}'`;

const BELOW = 0x00;
const IPV4 = 0x01;
const ABOVE = 0x02;

/** The ip_key of a 16-byte address. */
export function ipKey(address: Buffer): Buffer {
  // The address's first 12 bytes against the mapped prefix: below, inside (IPv4) or above.
  const order = address.compare(MAPPED_PREFIX, 0, 12, 0, 12);
  if (order === 0) return Buffer.concat([Buffer.of(IPV4), address.subarray(12)]);
  return Buffer.concat([Buffer.of(order < 0 ? BELOW : ABOVE), address]);
}

/** SQL for the ip_key of the 16-byte address in `column` (|| makes text of blobs: the CAST keeps the bytes, as a BLOB). */
export const ipKeySql = (column: string): string =>
  `CAST(CASE WHEN substr(${column}, 1, 12) = ${MAPPED_PREFIX_SQL} THEN x'01' || substr(${column}, 13)
             WHEN ${column} < ${MAPPED_PREFIX_SQL} THEN x'00' || ${column} ELSE x'02' || ${column} END AS BLOB)`;

/** SQL for the 16-byte address of the ip_key in `column`. */
export const ipKeyAddressSql = (column: string): string =>
  `CASE WHEN substr(${column}, 1, 1) = x'01' THEN CAST(${MAPPED_PREFIX_SQL} || substr(${column}, 2) AS BLOB) ELSE substr(${column}, 2) END`;
