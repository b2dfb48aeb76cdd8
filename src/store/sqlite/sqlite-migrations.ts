import type Database from 'better-sqlite3';
import { checkSchemaVersion, SCHEMA_VERSION_SQL } from '../schema-version.ts';
import { FEED_IDS } from '../../feed/feed-types.ts';

/*
 * Versioned schema. Each migration runs once, inside one transaction with the row that
 * records it, so two processes starting together cannot both apply it and a crash cannot
 * leave it half-applied. Append new versions; never edit a released one.
 *
 * Addresses are 16-byte BLOBs (IPv4 mapped into IPv6) so one index orders both families;
 * `ip_text` carries the readable form. Labels (risks, operators, proxies, …) are normalised
 * into `label` and `ip_label`, whose primary key makes "every IP with label X", optionally
 * inside a prefix, an index range scan in address order.
 */
const feedRows = Object.entries(FEED_IDS)
  .map(([name, id]) => `(${id}, '${name}')`)
  .join(', ');

export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE feed (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
  );
  INSERT INTO feed (id, name) VALUES ${feedRows};

  CREATE TABLE ip_data (
    ip               BLOB    NOT NULL,  -- first address, 16 bytes, IPv4 as ::ffff:a.b.c.d
    prefix_len       INTEGER NOT NULL,  -- 128 for one address; a network's length in 128-bit space
    feed_id          INTEGER NOT NULL REFERENCES feed (id),
    ip_text          TEXT    NOT NULL,  -- canonical text: 203.0.113.7, 2001:db8::1, 2001:db8::/64
    organization     TEXT,
    as_number        INTEGER,
    as_organization  TEXT,
    infrastructure   TEXT,
    location_country TEXT,
    location_state   TEXT,
    location_city    TEXT,
    client_count     INTEGER,
    client_countries INTEGER,
    context          TEXT    NOT NULL,  -- the Spur IP Context object as JSON
    record_hash      BLOB    NOT NULL,  -- md5 of context: what the diff compares
    last_updated     INTEGER NOT NULL   -- unix seconds of the last import that changed it
  );
  CREATE UNIQUE INDEX ip_data_key ON ip_data (ip, prefix_len, feed_id);
  CREATE INDEX ip_data_network ON ip_data (ip) WHERE prefix_len < 128;

  CREATE TABLE label (
    id    INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL,  -- risk, operator, proxy, behavior, client_type, …
    value TEXT NOT NULL,
    UNIQUE (kind, value)
  );

  CREATE TABLE ip_label (
    label_id   INTEGER NOT NULL REFERENCES label (id),
    ip         BLOB    NOT NULL,
    prefix_len INTEGER NOT NULL,
    feed_id    INTEGER NOT NULL,
    PRIMARY KEY (label_id, ip, prefix_len, feed_id)
  ) WITHOUT ROWID;
  CREATE INDEX ip_label_record ON ip_label (ip, prefix_len, feed_id);

  CREATE TABLE import_run (
    id             INTEGER PRIMARY KEY,
    feed_id        INTEGER NOT NULL REFERENCES feed (id),
    feed_date      TEXT,              -- YYYY-MM-DD
    file           TEXT,
    started_at     INTEGER NOT NULL,  -- unix seconds
    finished_at    INTEGER NOT NULL,
    lines_read     INTEGER NOT NULL,
    lines_skipped  INTEGER NOT NULL,
    inserted       INTEGER NOT NULL,
    updated        INTEGER NOT NULL,
    deleted        INTEGER NOT NULL,
    records        INTEGER NOT NULL,  -- records of the feed stored after the run
    status         TEXT    NOT NULL CHECK (status IN ('succeeded', 'failed')),
    error          TEXT,
    skipped_sample TEXT    NOT NULL   -- JSON array of {line, reason}
  );
  CREATE INDEX import_run_feed_status ON import_run (feed_id, status, id);

  -- One readable row per stored record, for people querying the database by hand.
  CREATE VIEW ip_reputation AS
  SELECT d.ip_text AS ip,
         f.name AS feed,
         d.organization, d.as_number, d.as_organization, d.infrastructure,
         d.location_country, d.location_city, d.client_count,
         (SELECT group_concat(l.kind || ':' || l.value, ' ')
            FROM ip_label il JOIN label l ON l.id = il.label_id
           WHERE il.ip = d.ip AND il.prefix_len = d.prefix_len AND il.feed_id = d.feed_id
             AND l.kind NOT IN ('infrastructure', 'country')) AS labels,
         datetime(d.last_updated, 'unixepoch') AS last_updated
    FROM ip_data d JOIN feed f ON f.id = d.feed_id;
  `,
  // Networks may nest: lookups probe the address masked to every stored network length
  // (store/containment.ts), so the nearest-network index has no reader left.
  `
  CREATE TABLE network_length (
    feed_id    INTEGER NOT NULL REFERENCES feed (id),
    prefix_len INTEGER NOT NULL,  -- a length (< 128) of at least one of the feed's networks
    PRIMARY KEY (feed_id, prefix_len)
  ) WITHOUT ROWID;
  INSERT INTO network_length (feed_id, prefix_len)
  SELECT DISTINCT feed_id, prefix_len FROM ip_data WHERE prefix_len < 128;
  DROP INDEX ip_data_network;
  `,
  // Status 'refused': an import the change limit stopped. A CHECK cannot be altered in
  // SQLite, so the table is rebuilt (no view or key refers to it) and its index recreated.
  `
  CREATE TABLE import_run_new (
    id             INTEGER PRIMARY KEY,
    feed_id        INTEGER NOT NULL REFERENCES feed (id),
    feed_date      TEXT,              -- YYYY-MM-DD
    file           TEXT,
    started_at     INTEGER NOT NULL,  -- unix seconds
    finished_at    INTEGER NOT NULL,
    lines_read     INTEGER NOT NULL,
    lines_skipped  INTEGER NOT NULL,
    inserted       INTEGER NOT NULL,  -- for a refused run: what it would have applied
    updated        INTEGER NOT NULL,
    deleted        INTEGER NOT NULL,
    records        INTEGER NOT NULL,  -- records of the feed stored after the run
    status         TEXT    NOT NULL CHECK (status IN ('succeeded', 'failed', 'refused')),
    error          TEXT,
    skipped_sample TEXT    NOT NULL   -- JSON array of {line, reason}
  );
  INSERT INTO import_run_new (id, feed_id, feed_date, file, started_at, finished_at, lines_read, lines_skipped,
                              inserted, updated, deleted, records, status, error, skipped_sample)
  SELECT id, feed_id, feed_date, file, started_at, finished_at, lines_read, lines_skipped,
         inserted, updated, deleted, records, status, error, skipped_sample
    FROM import_run;
  DROP TABLE import_run;
  ALTER TABLE import_run_new RENAME TO import_run;
  CREATE INDEX import_run_feed_status ON import_run (feed_id, status, id);
  `,
  // The import reads a feed's record hashes in order (import/fingerprints.ts) and finds the
  // records of the hashes no line matched; it checks whether a network length is still held.
  `
  CREATE INDEX ip_data_hash ON ip_data (feed_id, record_hash);
  CREATE INDEX ip_data_network_length ON ip_data (feed_id, prefix_len) WHERE prefix_len < 128;
  `,
  // Compact rows for scale. A record keeps the ids of its labels, so the import finds its
  // ip_label rows by their key and ip_label needs no second index (it was a third of the
  // file). The readable columns were copies of the JSON: the view reads them from it.
  `
  CREATE TABLE ip_data_compact (
    ip           BLOB    NOT NULL,  -- first address, 16 bytes, IPv4 as ::ffff:a.b.c.d
    prefix_len   INTEGER NOT NULL,  -- 128 for one address; a network's length in 128-bit space
    feed_id      INTEGER NOT NULL REFERENCES feed (id),
    ip_text      TEXT    NOT NULL,  -- canonical text: 203.0.113.7, 2001:db8::1, 2001:db8::/64
    context      TEXT    NOT NULL,  -- the Spur IP Context object as JSON
    label_ids    TEXT    NOT NULL,  -- JSON array: the label ids of the record's ip_label rows
    record_hash  BLOB    NOT NULL,  -- md5 of context: what the diff compares
    last_updated INTEGER NOT NULL   -- unix seconds of the last import that changed it
  );
  INSERT INTO ip_data_compact (ip, prefix_len, feed_id, ip_text, context, label_ids, record_hash, last_updated)
  SELECT d.ip, d.prefix_len, d.feed_id, d.ip_text, d.context,
         (SELECT json_group_array(l.label_id) FROM ip_label l
           WHERE l.ip = d.ip AND l.prefix_len = d.prefix_len AND l.feed_id = d.feed_id),
         d.record_hash, d.last_updated
    FROM ip_data d ORDER BY d.ip, d.prefix_len, d.feed_id;
  DROP VIEW ip_reputation;
  DROP TABLE ip_data;
  ALTER TABLE ip_data_compact RENAME TO ip_data;
  CREATE UNIQUE INDEX ip_data_key ON ip_data (ip, prefix_len, feed_id);
  CREATE INDEX ip_data_hash ON ip_data (feed_id, record_hash);
  CREATE INDEX ip_data_network_length ON ip_data (feed_id, prefix_len) WHERE prefix_len < 128;
  DROP INDEX ip_label_record;

  -- One readable row per stored record, for people querying the database by hand.
  CREATE VIEW ip_reputation AS
  SELECT d.ip_text AS ip,
         f.name AS feed,
         json_extract(d.context, '$.organization') AS organization,
         json_extract(d.context, '$.as.number') AS as_number,
         json_extract(d.context, '$.as.organization') AS as_organization,
         json_extract(d.context, '$.infrastructure') AS infrastructure,
         json_extract(d.context, '$.location.country') AS location_country,
         json_extract(d.context, '$.location.city') AS location_city,
         json_extract(d.context, '$.client.count') AS client_count,
         (SELECT group_concat(l.kind || ':' || l.value, ' ')
            FROM json_each(d.label_ids) j JOIN label l ON l.id = j.value
           WHERE l.kind NOT IN ('infrastructure', 'country')) AS labels,
         datetime(d.last_updated, 'unixepoch') AS last_updated
    FROM ip_data d JOIN feed f ON f.id = d.feed_id;
  `,
  // History (history/): the states imports replaced, per feed day. A key's row of day N holds
  // what it was until the import of day N changed it; its state is read back with
  // history/state-codec.ts. Days are YYYYMMDD integers.
  `
  CREATE TABLE ip_history (
    ip           BLOB    NOT NULL,
    prefix_len   INTEGER NOT NULL,
    feed_id      INTEGER NOT NULL REFERENCES feed (id),
    ended_on     INTEGER NOT NULL,  -- YYYYMMDD: the feed day of the import that changed or removed the record
    state        BLOB,              -- the record until then (history/state-codec.ts); NULL: not in the feed
    label_ids    TEXT,              -- its label ids (JSON array), as ip_data.label_ids
    last_updated INTEGER,           -- its last_updated
    PRIMARY KEY (ip, prefix_len, feed_id, ended_on)
  ) WITHOUT ROWID;
  -- The keys each day filed states for (history/key-journal.ts): what the prune deletes.
  CREATE TABLE ip_history_day (
    feed_id  INTEGER NOT NULL REFERENCES feed (id),
    ended_on INTEGER NOT NULL,
    part     INTEGER NOT NULL,
    key_list BLOB    NOT NULL,  -- sorted (ip, prefix_len) keys, deflated
    PRIMARY KEY (feed_id, ended_on, part)
  );
  ALTER TABLE import_run ADD COLUMN data_date INTEGER;  -- YYYYMMDD: the feed day history files the run under
  -- 1: the run kept the states it replaced; days before a run that did not (this one's
  -- predecessors, or IPOID_HISTORY_DAYS=0) cannot be answered.
  ALTER TABLE import_run ADD COLUMN history_kept INTEGER NOT NULL DEFAULT 0;
  UPDATE import_run SET data_date = CAST(strftime('%Y%m%d', COALESCE(feed_date, date(started_at, 'unixepoch'))) AS INTEGER);
  `,
  // Realtime (realtime/): a run is a full file's diffing import, or one of Spur's 5-minute
  // slots merged into it. Which slots a feed has had since its full file comes from here.
  `
  ALTER TABLE import_run ADD COLUMN kind TEXT NOT NULL DEFAULT 'full' CHECK (kind IN ('full', 'realtime'));
  ALTER TABLE import_run ADD COLUMN slot INTEGER;  -- realtime: unix seconds of the slot (its file's YYYYMMDD/HHMM, UTC)
  CREATE INDEX import_run_feed_kind ON import_run (feed_id, kind, status, id);
  `,
  // GET /feed/v1/imports?kind=full, newest first, with no feed named (the console's default):
  // read from this index, not by walking every realtime slot's run back to the full ones.
  `CREATE INDEX import_run_kind ON import_run (kind, id);`,
  // Compressed records (sqlite-context-codec.ts): ip_data.context is zstd against a
  // dictionary of the store's own records, and the view's readable fields, which it can no
  // longer read from the JSON, are columns of their own (NULL in rows still holding JSON text).
  `
  CREATE TABLE context_dictionary (
    id         INTEGER PRIMARY KEY,  -- 1: the dictionary of every compressed context (whose frames name none)
    content    BLOB    NOT NULL,     -- zstd raw-content dictionary: stored records' JSON, one a line
    created_at TEXT    NOT NULL DEFAULT (datetime('now'))
  );
  ALTER TABLE ip_data ADD COLUMN organization TEXT;
  ALTER TABLE ip_data ADD COLUMN as_number INTEGER;
  ALTER TABLE ip_data ADD COLUMN as_organization TEXT;
  ALTER TABLE ip_data ADD COLUMN location_city TEXT;
  ALTER TABLE ip_data ADD COLUMN client_count INTEGER;

  -- One readable row per stored record, for people querying the database by hand.
  DROP VIEW ip_reputation;
  CREATE VIEW ip_reputation AS
  SELECT d.ip_text AS ip,
         f.name AS feed,
         CASE typeof(d.context) WHEN 'text' THEN json_extract(d.context, '$.organization') ELSE d.organization END AS organization,
         CASE typeof(d.context) WHEN 'text' THEN json_extract(d.context, '$.as.number') ELSE d.as_number END AS as_number,
         CASE typeof(d.context) WHEN 'text' THEN json_extract(d.context, '$.as.organization') ELSE d.as_organization END AS as_organization,
         CASE typeof(d.context) WHEN 'text' THEN json_extract(d.context, '$.infrastructure')
           ELSE (SELECT l.value FROM json_each(d.label_ids) j JOIN label l ON l.id = j.value WHERE l.kind = 'infrastructure') END AS infrastructure,
         CASE typeof(d.context) WHEN 'text' THEN json_extract(d.context, '$.location.country')
           ELSE (SELECT l.value FROM json_each(d.label_ids) j JOIN label l ON l.id = j.value WHERE l.kind = 'country') END AS location_country,
         CASE typeof(d.context) WHEN 'text' THEN json_extract(d.context, '$.location.city') ELSE d.location_city END AS location_city,
         CASE typeof(d.context) WHEN 'text' THEN json_extract(d.context, '$.client.count') ELSE d.client_count END AS client_count,
         (SELECT group_concat(l.kind || ':' || l.value, ' ')
            FROM json_each(d.label_ids) j JOIN label l ON l.id = j.value
           WHERE l.kind NOT IN ('infrastructure', 'country')) AS labels,
         datetime(d.last_updated, 'unixepoch') AS last_updated
    FROM ip_data d JOIN feed f ON f.id = d.feed_id;
  `,
  // The keys each realtime slot wrote (store/realtime-keys.ts), until the feed's second full import after it.
  `
  CREATE TABLE realtime_keys (
    run_id   INTEGER NOT NULL REFERENCES import_run (id),
    part     INTEGER NOT NULL,
    feed_id  INTEGER NOT NULL REFERENCES feed (id),
    key_list BLOB    NOT NULL,  -- the keys the slot created or merged into, sorted (ip, prefix_len), deflated
    PRIMARY KEY (run_id, part)
  );
  CREATE INDEX realtime_keys_feed ON realtime_keys (feed_id);
  `,
  // ip_label's address as a shorter key that sorts as the address does (sqlite-ip-key.ts):
  // an IPv4 row keeps 5 bytes instead of 16. The keys come in the old rows' order: no sort.
  `
  CREATE TABLE ip_label_keyed (
    label_id   INTEGER NOT NULL REFERENCES label (id),
    ip_key     BLOB    NOT NULL,  -- the address: x'01' || IPv4's 4 bytes; other addresses x'00' (below ::ffff:0:0) or x'02' (above) || 16 bytes
    prefix_len INTEGER NOT NULL,
    feed_id    INTEGER NOT NULL,
    PRIMARY KEY (label_id, ip_key, prefix_len, feed_id)
  ) WITHOUT ROWID;
  INSERT INTO ip_label_keyed (label_id, ip_key, prefix_len, feed_id)
  SELECT label_id,
         CAST(CASE WHEN substr(ip, 1, 12) = x'00000000000000000000ffff' THEN x'01' || substr(ip, 13)
                   WHEN ip < x'00000000000000000000ffff' THEN x'00' || ip ELSE x'02' || ip END AS BLOB),
         prefix_len, feed_id
    FROM ip_label;
  DROP TABLE ip_label;
  ALTER TABLE ip_label_keyed RENAME TO ip_label;

  -- ip_label with each row's address as ip_data keeps it, for people joining the two by hand.
  CREATE VIEW ip_label_address AS
  SELECT label_id,
         CASE WHEN substr(ip_key, 1, 1) = x'01' THEN CAST(x'00000000000000000000ffff' || substr(ip_key, 2) AS BLOB)
              ELSE substr(ip_key, 2) END AS ip,
         prefix_len, feed_id
    FROM ip_label;
  `,
];

/** A read-only store cannot migrate: it fails at start when the file's schema is older than this code reads. */
export function checkSchema(db: Database.Database, path: string): void {
  const tracked = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migration'").get();
  const version = tracked ? db.prepare<[], { version: number | null }>(SCHEMA_VERSION_SQL).get()?.version : 0;
  checkSchemaVersion(path, version, SQLITE_MIGRATIONS.length);
}

export function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migration (
    version    INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL DEFAULT (datetime('now'))
  )`);
  const applied = db.prepare<[number], { version: number }>('SELECT version FROM schema_migration WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migration (version) VALUES (?)');
  SQLITE_MIGRATIONS.forEach((sql, index) => {
    const version = index + 1;
    // Checked first without a lock: a running import holds the write lock for minutes, and
    // starting a reader must not wait for it when the schema is already current.
    if (applied.get(version)) return;
    // IMMEDIATE: take the write lock before checking again, so of two starters one applies it.
    db.transaction(() => {
      if (applied.get(version)) return;
      db.exec(sql);
      record.run(version);
    }).immediate();
  });
}
