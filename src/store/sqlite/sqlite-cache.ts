/*
 * The import's SQLite page cache (KiB), within the importer's 1 GiB at 40M records (its
 * fingerprints take 12 bytes a record beside it).
 */

/**
 * While records are matched and written: the import's random reads and index inserts stay
 * in memory at a few million records.
 */
export const IMPORT_CACHE_KIB = 262144;

/**
 * While the import sorts (index builds, the first load's ip_label, a diff's label changes):
 * SQLite's sorter holds up to a page cache's worth of rows per thread, so a smaller cache
 * keeps the process under 1 GiB; the writes it then makes are in key order and need little cache.
 */
export const SORT_CACHE_KIB = 65536;
