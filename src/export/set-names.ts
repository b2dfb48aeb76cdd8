/**
 * The name of the firewall sets an export defines (ipset: NAME for IPv4 and NAME6 for IPv6;
 * nftables: table NAME with sets NAME_v4 and NAME_v6). Letters, digits and underscores, from
 * a letter, short enough for ipset's 31 characters with the suffix: nothing a shell, ipset or
 * nft would read as anything but a name.
 */
export const SET_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_]{0,27}$';
export const DEFAULT_SET_NAME = 'ipoid';
