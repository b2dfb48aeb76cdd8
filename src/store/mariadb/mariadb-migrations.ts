import type { Connection } from 'mariadb';
import { FEED_IDS } from '../../feed/feed-types.ts';
import { getLock, lockName } from './mariadb-connection.ts';

/*
 * Versioned schema, the same tables as the SQLite store's. MariaDB DDL commits on its own,
 * so a migration cannot be atomic: every statement is idempotent (IF NOT EXISTS, INSERT
 * IGNORE, OR REPLACE) and a migration interrupted half-way completes on the next run.
 * A user lock makes two processes starting together apply it one after the other.
 * Append new versions; never edit a released one.
 *
 * Addresses are INET6 (16 bytes, IPv4 mapped as ::ffff:a.b.c.d), so one index orders both
 * families and `SELECT ip FROM ip_data` shows addresses. Clustered primary keys make an
 * address range (and, in ip_label, a label's records in address order) one range scan.
 * Column lengths match the limits of feed/schema.ts, so a valid record always fits.
 */
type Statement = string | readonly [sql: string, values: unknown[]];

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
// Labels compare byte for byte (and without PAD SPACE), as SQLite compares text.
const LABEL_TEXT = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin';
// An explicit default keeps servers with explicit_defaults_for_timestamp=OFF from adding ON UPDATE.
const TIME = 'TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP';

const feeds = Object.entries(FEED_IDS);

export const MARIADB_MIGRATIONS: readonly (readonly Statement[])[] = [
  [
    `CREATE TABLE IF NOT EXISTS feed (
      id   TINYINT UNSIGNED NOT NULL PRIMARY KEY,
      name VARCHAR(64)      NOT NULL UNIQUE
    ) ${TABLE}`,
    [`INSERT IGNORE INTO feed (id, name) VALUES ${feeds.map(() => '(?, ?)').join(', ')}`, feeds.flatMap(([name, id]) => [id, name])],

    `CREATE TABLE IF NOT EXISTS ip_data (
      ip               INET6            NOT NULL COMMENT 'first address, IPv4 as ::ffff:a.b.c.d',
      prefix_len       TINYINT UNSIGNED NOT NULL COMMENT '128 for one address, else the network length in 128-bit space',
      feed_id          TINYINT UNSIGNED NOT NULL,
      ip_text          VARCHAR(64)      NOT NULL COMMENT 'canonical text: 203.0.113.7, 2001:db8::1, 2001:db8::/64',
      organization     VARCHAR(512),
      as_number        INT UNSIGNED,
      as_organization  VARCHAR(512),
      infrastructure   VARCHAR(128),
      location_country VARCHAR(128),
      location_state   VARCHAR(512),
      location_city    VARCHAR(512),
      client_count     INT UNSIGNED,
      client_countries INT UNSIGNED,
      context          JSON             NOT NULL COMMENT 'the Spur IP Context object',
      record_hash      BINARY(16)       NOT NULL COMMENT 'md5 of context: what the diff compares',
      last_updated     ${TIME} COMMENT 'last import that changed it',
      network_ip       INET6 AS (IF(prefix_len < 128, ip, NULL)) PERSISTENT COMMENT 'ip of networks only, to find the nearest one',
      PRIMARY KEY (ip, prefix_len, feed_id),
      KEY ip_data_network (network_ip),
      -- Covers the import's hash lookups and its scan for unseen keys, a fraction of the table's size.
      KEY ip_data_feed_hash (feed_id, ip, prefix_len, record_hash),
      CONSTRAINT ip_data_feed FOREIGN KEY (feed_id) REFERENCES feed (id)
    ) ${TABLE}`,

    `CREATE TABLE IF NOT EXISTS label (
      id    INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      kind  VARCHAR(32)  ${LABEL_TEXT} NOT NULL COMMENT 'risk, operator, proxy, behavior, client_type, ...',
      value VARCHAR(128) ${LABEL_TEXT} NOT NULL,
      UNIQUE KEY label_kind_value (kind, value)
    ) ${TABLE}`,

    `CREATE TABLE IF NOT EXISTS ip_label (
      label_id   INT UNSIGNED     NOT NULL,
      ip         INET6            NOT NULL,
      prefix_len TINYINT UNSIGNED NOT NULL,
      feed_id    TINYINT UNSIGNED NOT NULL,
      PRIMARY KEY (label_id, ip, prefix_len, feed_id),
      KEY ip_label_record (ip, prefix_len, feed_id),
      CONSTRAINT ip_label_label FOREIGN KEY (label_id) REFERENCES label (id)
    ) ${TABLE}`,

    `CREATE TABLE IF NOT EXISTS import_run (
      id             INT UNSIGNED     NOT NULL AUTO_INCREMENT PRIMARY KEY,
      feed_id        TINYINT UNSIGNED NOT NULL,
      feed_date      DATE,
      file           TEXT,
      started_at     ${TIME},
      finished_at    ${TIME},
      lines_read     INT UNSIGNED     NOT NULL,
      lines_skipped  INT UNSIGNED     NOT NULL,
      inserted       INT UNSIGNED     NOT NULL,
      updated        INT UNSIGNED     NOT NULL,
      deleted        INT UNSIGNED     NOT NULL,
      records        INT UNSIGNED     NOT NULL COMMENT 'records of the feed stored after the run',
      status         ENUM('succeeded', 'failed') NOT NULL,
      error          MEDIUMTEXT,
      skipped_sample JSON             NOT NULL COMMENT 'array of {line, reason}',
      KEY import_run_feed_status (feed_id, status, id),
      CONSTRAINT import_run_feed FOREIGN KEY (feed_id) REFERENCES feed (id)
    ) ${TABLE}`,

    // One readable row per stored record, for people querying the database by hand.
    `CREATE OR REPLACE SQL SECURITY INVOKER VIEW ip_reputation AS
     SELECT d.ip_text AS ip,
            f.name AS feed,
            d.organization, d.as_number, d.as_organization, d.infrastructure,
            d.location_country, d.location_city, d.client_count,
            (SELECT GROUP_CONCAT(CONCAT(l.kind, ':', l.value) SEPARATOR ' ')
               FROM ip_label il JOIN label l ON l.id = il.label_id
              WHERE il.ip = d.ip AND il.prefix_len = d.prefix_len AND il.feed_id = d.feed_id
                AND l.kind NOT IN ('infrastructure', 'country')) AS labels,
            d.last_updated
       FROM ip_data d JOIN feed f ON f.id = d.feed_id`,
  ],
  // Networks may nest: lookups probe the address masked to every stored network length
  // (store/containment.ts). Filled through ip_data_network (covering: its entries carry the
  // primary key), which lookups no longer read and is dropped afterwards. The generated
  // network_ip column stays: dropping it would rebuild the whole table.
  [
    `CREATE TABLE IF NOT EXISTS network_length (
      feed_id    TINYINT UNSIGNED NOT NULL,
      prefix_len TINYINT UNSIGNED NOT NULL COMMENT 'a length (< 128) of at least one of the feed''s networks',
      PRIMARY KEY (feed_id, prefix_len),
      CONSTRAINT network_length_feed FOREIGN KEY (feed_id) REFERENCES feed (id)
    ) ${TABLE}`,
    `INSERT IGNORE INTO network_length (feed_id, prefix_len)
     SELECT DISTINCT feed_id, prefix_len FROM ip_data WHERE network_ip IS NOT NULL`,
    'ALTER TABLE ip_data DROP INDEX IF EXISTS ip_data_network',
  ],
  [
    // Status 'refused': an import the change limit stopped (the run keeps its would-be counts).
    `ALTER TABLE import_run MODIFY status ENUM('succeeded', 'failed', 'refused') NOT NULL`,
  ],
  [
    // Labels of up to 1,024 characters (LABEL_MAX_LENGTH). Same length bytes (2), not indexed:
    // an instant change, even on a big ip_data.
    'ALTER TABLE ip_data MODIFY infrastructure VARCHAR(1024), MODIFY location_country VARCHAR(1024)',
    // A unique key on all of (kind, value) would be 4,224 bytes, over InnoDB's 3,072. A unique
    // prefix key of (3,072 - 32 * 4) / 4 = 736 characters is the longest that stays a B-tree (a
    // longer one becomes USING HASH, which lookups don't use) and keeps a label a constant to
    // the optimizer, so a list page stays one ordered range scan of ip_label. The cost: two
    // labels of one kind that agree in their first 736 characters cannot both be stored.
    // In place, without a lock.
    `ALTER TABLE label
       DROP INDEX IF EXISTS label_kind_value,
       MODIFY value VARCHAR(1024) ${LABEL_TEXT} NOT NULL,
       ADD UNIQUE KEY IF NOT EXISTS label_kind_value_prefix (kind, value(736))`,
  ],
  [
    // The import reads a feed's record hashes in order (import/fingerprints.ts) and finds the
    // records of the hashes no line matched: a range of this index, which carries the key.
    'ALTER TABLE ip_data ADD INDEX IF NOT EXISTS ip_data_hash (feed_id, record_hash)',
  ],
  [
    // Compact rows for scale. A record keeps the ids of its labels, so the import finds its
    // ip_label rows by their key and ip_label needs no second index. The readable columns
    // were copies of the JSON, and the view now reads them from it. Dropped too: the
    // network_ip column, which nothing has read since version 2, and ip_data_feed_hash, whose
    // work ip_data_hash does (it carries the primary key). Dropping columns is instant.
    `ALTER TABLE ip_data ADD COLUMN IF NOT EXISTS label_ids JSON NOT NULL DEFAULT '[]'
       COMMENT 'the label ids of the record''s ip_label rows' AFTER context`,
    `UPDATE ip_data d
        SET label_ids = COALESCE((SELECT JSON_ARRAYAGG(l.label_id) FROM ip_label l
                                   WHERE l.ip = d.ip AND l.prefix_len = d.prefix_len AND l.feed_id = d.feed_id), '[]')`,
    `CREATE OR REPLACE SQL SECURITY INVOKER VIEW ip_reputation AS
     SELECT d.ip_text AS ip,
            f.name AS feed,
            JSON_VALUE(d.context, '$.organization') AS organization,
            CAST(JSON_VALUE(d.context, '$.as.number') AS UNSIGNED) AS as_number,
            JSON_VALUE(d.context, '$.as.organization') AS as_organization,
            JSON_VALUE(d.context, '$.infrastructure') AS infrastructure,
            JSON_VALUE(d.context, '$.location.country') AS location_country,
            JSON_VALUE(d.context, '$.location.city') AS location_city,
            CAST(JSON_VALUE(d.context, '$.client.count') AS UNSIGNED) AS client_count,
            (SELECT GROUP_CONCAT(CONCAT(l.kind, ':', l.value) SEPARATOR ' ')
               FROM JSON_TABLE(d.label_ids, '$[*]' COLUMNS (id INT UNSIGNED PATH '$')) j JOIN label l ON l.id = j.id
              WHERE l.kind NOT IN ('infrastructure', 'country')) AS labels,
            d.last_updated
       FROM ip_data d JOIN feed f ON f.id = d.feed_id`,
    `ALTER TABLE ip_data
       ALTER COLUMN label_ids DROP DEFAULT,
       DROP COLUMN IF EXISTS organization, DROP COLUMN IF EXISTS as_number, DROP COLUMN IF EXISTS as_organization,
       DROP COLUMN IF EXISTS infrastructure, DROP COLUMN IF EXISTS location_country, DROP COLUMN IF EXISTS location_state,
       DROP COLUMN IF EXISTS location_city, DROP COLUMN IF EXISTS client_count, DROP COLUMN IF EXISTS client_countries,
       DROP INDEX IF EXISTS ip_data_feed_hash, DROP COLUMN IF EXISTS network_ip`,
    'ALTER TABLE ip_label DROP INDEX IF EXISTS ip_label_record',
  ],
  [
    // History (history/): the states imports replaced, per feed day. A key's row of day N
    // holds what it was until the import of day N changed it; its state is read back with
    // history/state-codec.ts. Days are YYYYMMDD integers, as in the SQLite store.
    `CREATE TABLE IF NOT EXISTS ip_history (
      ip           INET6            NOT NULL,
      prefix_len   TINYINT UNSIGNED NOT NULL,
      feed_id      TINYINT UNSIGNED NOT NULL,
      ended_on     INT UNSIGNED     NOT NULL COMMENT 'YYYYMMDD: the feed day of the import that changed or removed the record',
      state        BLOB             COMMENT 'the record until then (history/state-codec.ts); NULL: not in the feed',
      label_ids    JSON             COMMENT 'its label ids, as ip_data.label_ids',
      last_updated TIMESTAMP        NULL DEFAULT NULL COMMENT 'its last_updated',
      PRIMARY KEY (ip, prefix_len, feed_id, ended_on),
      CONSTRAINT ip_history_feed FOREIGN KEY (feed_id) REFERENCES feed (id)
    ) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS ip_history_day (
      feed_id  TINYINT UNSIGNED NOT NULL,
      ended_on INT UNSIGNED     NOT NULL,
      part     INT UNSIGNED     NOT NULL,
      key_list LONGBLOB         NOT NULL COMMENT 'the keys the day filed states for, sorted (ip, prefix_len), deflated (history/key-journal.ts): what the prune deletes',
      PRIMARY KEY (feed_id, ended_on, part),
      CONSTRAINT ip_history_day_feed FOREIGN KEY (feed_id) REFERENCES feed (id)
    ) ${TABLE}`,
    `ALTER TABLE import_run ADD COLUMN IF NOT EXISTS data_date INT UNSIGNED
       COMMENT 'YYYYMMDD: the feed day history files the run under' AFTER feed_date`,
    `UPDATE import_run SET data_date = DATE_FORMAT(COALESCE(feed_date, DATE(started_at)), '%Y%m%d') WHERE data_date IS NULL`,
    `ALTER TABLE import_run ADD COLUMN IF NOT EXISTS history_kept TINYINT UNSIGNED NOT NULL DEFAULT 0
       COMMENT '1: the run kept the states it replaced; days before one that did not cannot be answered' AFTER data_date`,
  ],
  [
    // Realtime (realtime/): a run is a full file's diffing import, or one of Spur's 5-minute
    // slots merged into it. Which slots a feed has had since its full file comes from here.
    `ALTER TABLE import_run
       ADD COLUMN IF NOT EXISTS kind ENUM('full', 'realtime') NOT NULL DEFAULT 'full' AFTER feed_id,
       ADD COLUMN IF NOT EXISTS slot TIMESTAMP NULL DEFAULT NULL
         COMMENT 'realtime: the slot (its file''s YYYYMMDD/HHMM, UTC)' AFTER data_date,
       ADD KEY IF NOT EXISTS import_run_feed_kind (feed_id, kind, status, id)`,
  ],
  // GET /feed/v1/imports?kind=full, newest first, with no feed named (the console's default):
  // read from this index, not by walking every realtime slot's run back to the full ones.
  [`ALTER TABLE import_run ADD KEY IF NOT EXISTS import_run_kind (kind, id)`],
  // The keys each realtime slot wrote (store/realtime-keys.ts), until the feed's second full import after it.
  [
    `CREATE TABLE IF NOT EXISTS realtime_keys (
      run_id   INT UNSIGNED     NOT NULL,
      part     INT UNSIGNED     NOT NULL,
      feed_id  TINYINT UNSIGNED NOT NULL,
      key_list LONGBLOB         NOT NULL COMMENT 'the keys the slot created or merged into, sorted (ip, prefix_len), deflated (history/key-journal.ts)',
      PRIMARY KEY (run_id, part),
      KEY realtime_keys_feed (feed_id),
      CONSTRAINT realtime_keys_run FOREIGN KEY (run_id) REFERENCES import_run (id),
      CONSTRAINT realtime_keys_feed FOREIGN KEY (feed_id) REFERENCES feed (id)
    ) ${TABLE}`,
  ],
];

// Long enough for another process to finish applying a migration; short enough to report a stuck one.
const MIGRATE_LOCK_WAIT_SECONDS = 60;

/** Applies the migrations this database lacks. `conn` must be a dedicated connection. */
export async function migrate(conn: Connection, database: string): Promise<void> {
  const lock = lockName('migrate', database);
  if (!(await getLock(conn, lock, MIGRATE_LOCK_WAIT_SECONDS))) {
    throw new Error(`another process has been migrating database ${database} for ${MIGRATE_LOCK_WAIT_SECONDS}s; giving up`);
  }
  try {
    await conn.query(`CREATE TABLE IF NOT EXISTS schema_migration (
      version    INT UNSIGNED NOT NULL PRIMARY KEY,
      applied_at ${TIME}
    ) ${TABLE}`);
    const rows = await conn.query<{ version: number }[]>('SELECT version FROM schema_migration');
    const applied = new Set(rows.map((row) => row.version));
    for (const [index, statements] of MARIADB_MIGRATIONS.entries()) {
      const version = index + 1;
      if (applied.has(version)) continue;
      for (const statement of statements) {
        if (typeof statement === 'string') await conn.query(statement);
        else await conn.query(statement[0], statement[1]);
      }
      await conn.query('INSERT INTO schema_migration (version) VALUES (?)', [version]);
    }
  } finally {
    await conn.query('SELECT RELEASE_LOCK(?)', [lock]);
  }
}
