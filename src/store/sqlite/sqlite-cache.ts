/*
 * The import's SQLite page cache (KiB), within the importer's 1 GiB at 40M records (its
 * fingerprints take 10 bytes a record beside it).
 */

/**
 * While records are matched and written: the import's random reads and index inserts stay
 * in memory at a few million records.
 */
export const IMPORT_CACHE_KIB = 262144;

/**
 * While a diff reads its feed, beside the stored fingerprints (381 MiB at 40M) and the
 * feed's worker thread: three quarters of the cache of a first load or a slot keeps the 40M
 * diff under 1 GiB. Half of it cost no time pairs of runs could tell at 1M or 10M, but its
 * 40M diff read the feed in 265 s against 215 (one run each; docs/import-at-scale.md).
 */
export const DIFF_CACHE_KIB = 196608;

/**
 * While a diff commits (its staged records and label changes sorted, then written in key order): SQLite's sorter
 * holds up to a page cache's worth of rows per thread, so a smaller cache keeps the process
 * under 1 GiB; the writes it then makes are in key order and need little cache.
 */
export const SORT_CACHE_KIB = 65536;

/**
 * While a first load builds its indexes and ip_label, sorting every row at once: SQLite's
 * sorter sorts each run of rows in memory as large as the page cache and then merges the runs.
 * Runs that stay within the processor's caches sort faster than large ones, even with more
 * runs to merge (README, "At scale": a third less CPU for the label rows' sort at 10M and at
 * 40M, as much temporary disk), and the process needs less memory.
 */
export const LOAD_SORT_CACHE_KIB = 4096;
