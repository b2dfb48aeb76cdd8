/*
 * Statements both stores run as they are: the tables and their column names are the same
 * in both schemas, and these use no dialect's own syntax. (SQLite finds the import's
 * temporary tables without the `temp.` prefix, as MariaDB does.)
 */

/** Every label with the number of stored records carrying it: one pass over ip_label's key. */
export const LABEL_COUNTS_SQL = `
  SELECT l.kind, l.value, c.count
    FROM (SELECT label_id, COUNT(*) AS count FROM ip_label GROUP BY label_id) c
    JOIN label l ON l.id = c.label_id
   ORDER BY l.kind, c.count DESC, l.value`;

/** The keys of a feed (`?`) that the import did not see, into import_gone. */
export const COLLECT_UNSEEN_SQL = `
  INSERT INTO import_gone (ip, prefix_len)
  SELECT d.ip, d.prefix_len FROM ip_data d
   WHERE d.feed_id = ?
     AND NOT EXISTS (SELECT 1 FROM import_seen s WHERE s.ip = d.ip AND s.prefix_len = d.prefix_len)`;

/** How many records a feed (`?`) holds. */
export const COUNT_STORED_SQL = 'SELECT COUNT(*) AS n FROM ip_data WHERE feed_id = ?';
