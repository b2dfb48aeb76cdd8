import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { importFeed, ImportRefusedError } from '../../src/import/importer.ts';
import { connect, connectionOptions } from '../../src/store/mariadb/mariadb-connection.ts';
import { MARIADB_MIGRATIONS } from '../../src/store/mariadb/mariadb-migrations.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/sqlite-migrations.ts';
import { ipKey } from '../../src/store/sqlite/sqlite-ip-key.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { parseIp } from '../../src/feed/ip.ts';
import { quietLogger, SAMPLE_FEED, gzipToTemp, jsonLinesFeed } from '../helpers/fixtures.ts';
import { forEachStore, STORE_TARGETS, type StoreTarget, type TestDatabase } from '../helpers/stores.ts';

// A run as release 1 recorded it, before status 'refused' existed.
const OLD_RUN = `INSERT INTO import_run (feed_id, feed_date, file, started_at, finished_at, lines_read, lines_skipped,
  inserted, updated, deleted, records, status, error, skipped_sample) VALUES (1, '2026-01-01', 'old.json.gz', 1767225600,
  1767225660, 10, 0, 10, 0, 0, 10, 'succeeded', NULL, '[]')`;

/** Runs `sql` (with `?` values) on the test database, raw, and returns the rows. */
async function rawQuery(target: StoreTarget, db: TestDatabase, sql: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  if (target.name === 'sqlite') {
    const sqlite = new Database(resolve(db.url.slice('sqlite:'.length)));
    try {
      const statement = sqlite.prepare(sql);
      if (statement.reader) return statement.all(...values) as Record<string, unknown>[];
      statement.run(...values);
      return [];
    } finally {
      sqlite.close();
    }
  }
  const conn = await connect(connectionOptions(db.url));
  try {
    const result = await conn.query(sql, values);
    return Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
  } finally {
    await conn.end();
  }
}

/** A database with the first `release` migrations applied, as that release left it. */
async function releaseDatabase(target: StoreTarget, db: TestDatabase, release: number): Promise<void> {
  if (target.name === 'sqlite') {
    const sqlite = new Database(resolve(db.url.slice('sqlite:'.length)));
    try {
      sqlite.exec(`CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))`);
      SQLITE_MIGRATIONS.slice(0, release).forEach((sql, index) => {
        sqlite.exec(sql);
        sqlite.prepare('INSERT INTO schema_migration (version) VALUES (?)').run(index + 1);
      });
    } finally {
      sqlite.close();
    }
    return;
  }
  const conn = await connect(connectionOptions(db.url));
  try {
    await conn.query(
      'CREATE TABLE schema_migration (version INT UNSIGNED NOT NULL PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)',
    );
    for (const [index, statements] of MARIADB_MIGRATIONS.slice(0, release).entries()) {
      for (const statement of statements) {
        if (typeof statement === 'string') await conn.query(statement);
        else await conn.query(statement[0], statement[1]);
      }
      await conn.query('INSERT INTO schema_migration (version) VALUES (?)', [index + 1]);
    }
  } finally {
    await conn.end();
  }
}

const unixTime = (target: StoreTarget, sql: string): string =>
  target.name === 'sqlite' ? sql : sql.replace(/(1767225\d{3})/g, 'FROM_UNIXTIME($1)');

forEachStore((target) => {
  let db: TestDatabase;
  before(async () => {
    db = await target.createDatabase();
    await releaseDatabase(target, db, 1);
    await rawQuery(target, db, unixTime(target, OLD_RUN));
  });
  after(async () => db.drop());

  test('opened read-only (as the API opens it), a database of release 1 is refused at start with what to do', async () => {
    const needed = target.name === 'sqlite' ? SQLITE_MIGRATIONS.length : MARIADB_MIGRATIONS.length;
    await assert.rejects(
      openStore(db.url, { readOnly: true }),
      new RegExp(`has schema version 1, this IPoid needs ${needed}: open it once without read-only to migrate`),
    );
  });

  test('a database of release 1 is migrated to record refused runs, keeping its runs', async () => {
    const store = await openStore(db.url);
    try {
      const [old] = await store.importRuns({ limit: 10 });
      assert.deepEqual(
        [old?.file, old?.feedDate, old?.status, old?.records, old?.startedAt.getTime()],
        ['old.json.gz', '2026-01-01', 'succeeded', 10, 1767225600_000],
      );
      await importFeed(store, SAMPLE_FEED, { feed: 'anonymous', logger: quietLogger });
      await assert.rejects(
        importFeed(store, gzipToTemp('{"ip":"10.0.0.1"}\n'), { feed: 'anonymous', logger: quietLogger }),
        ImportRefusedError,
      );
      const [refused] = await store.importRuns({ limit: 1 });
      assert.equal(refused?.status, 'refused');
      assert.deepEqual((await store.feedStatus())[0]?.lastRefused, refused);
      assert.equal((await store.importRuns({ limit: 10 })).length, 3);
    } finally {
      await store.close();
    }
    // Opening again applies nothing twice.
    await (await openStore(db.url)).close();
  });
});

// Records as stored before compact rows (SQLite schema 4, MariaDB 5): readable columns beside
// the JSON, and ip_label rows found by the record's key. Compact rows keep the label ids in the row.
const BEFORE_COMPACT = { sqlite: 4, mariadb: 5 };
const OLD_RECORDS = [
  {
    ip: '198.51.100.1',
    context: '{"ip":"198.51.100.1","as":{"number":64500,"organization":"Example Net"},"risks":["TUNNEL"]}',
    risks: ['TUNNEL'],
  },
  { ip: '198.51.100.2', context: '{"ip":"198.51.100.2","risks":["TUNNEL","CALLBACK_PROXY"]}', risks: ['TUNNEL', 'CALLBACK_PROXY'] },
];

forEachStore((target) => {
  let db: TestDatabase;
  before(async () => {
    db = await target.createDatabase();
    await releaseDatabase(target, db, BEFORE_COMPACT[target.name]);
    for (const [index, record] of OLD_RECORDS.entries()) {
      const ip = parseIp(record.ip).bytes;
      await rawQuery(
        target,
        db,
        unixTime(
          target,
          `INSERT INTO ip_data (ip, prefix_len, feed_id, ip_text, as_number, context, record_hash, last_updated)
           VALUES (?, 128, 1, ?, ?, ?, ?, 1767225600)`,
        ),
        [ip, record.ip, index === 0 ? 64500 : null, record.context, createHash('md5').update(record.context).digest()],
      );
      for (const risk of record.risks) {
        await rawQuery(
          target,
          db,
          `INSERT ${target.name === 'sqlite' ? 'OR IGNORE' : 'IGNORE'} INTO label (kind, value) VALUES ('risk', ?)`,
          [risk],
        );
        await rawQuery(
          target,
          db,
          "INSERT INTO ip_label (label_id, ip, prefix_len, feed_id) SELECT id, ?, 128, 1 FROM label WHERE kind = 'risk' AND value = ?",
          [ip, risk],
        );
      }
    }
  });
  after(async () => db.drop());

  const listed = async (store: Store, risk: string): Promise<string[]> =>
    (await store.list({ labels: [{ kind: 'risk', value: risk }], limit: 10 })).records.map((r) => r.key);
  const viewLabels = async (ip: string): Promise<unknown> =>
    (await rawQuery(target, db, 'SELECT labels FROM ip_reputation WHERE ip = ?', [ip]))[0]?.labels;

  test('records stored before compact rows keep their answers, label lists and readable view, and the next import replaces their labels', async () => {
    const store = await openStore(db.url);
    try {
      const [first] = await store.lookup(parseIp('198.51.100.1'));
      assert.equal(first?.json, OLD_RECORDS[0]!.context);
      assert.deepEqual(await listed(store, 'TUNNEL'), ['198.51.100.1', '198.51.100.2']);
      assert.deepEqual(await listed(store, 'CALLBACK_PROXY'), ['198.51.100.2']);
      const [row] = await rawQuery(target, db, "SELECT as_organization, as_number FROM ip_reputation WHERE ip = '198.51.100.1'");
      assert.deepEqual([row?.as_organization, Number(row?.as_number)], ['Example Net', 64500]);
      assert.equal(await viewLabels('198.51.100.2'), 'risk:TUNNEL risk:CALLBACK_PROXY');

      // The next day changes the first record's labels and drops the second: their old label rows go.
      const nextDay = jsonLinesFeed([
        { ip: '198.51.100.1', risks: ['CALLBACK_PROXY'] },
        { ip: '198.51.100.3', risks: ['TUNNEL'] },
      ]);
      await importFeed(store, nextDay, { feed: 'anonymous', logger: quietLogger, force: true });
      assert.deepEqual(await listed(store, 'TUNNEL'), ['198.51.100.3']);
      assert.deepEqual(await listed(store, 'CALLBACK_PROXY'), ['198.51.100.1']);
      assert.deepEqual(
        (await store.labelCounts()).filter((c) => c.kind === 'risk').map((c) => [c.value, c.count]),
        [
          ['CALLBACK_PROXY', 1],
          ['TUNNEL', 1],
        ],
      );
      assert.equal(await viewLabels('198.51.100.1'), 'risk:CALLBACK_PROXY');
      const [labelRows] = await rawQuery(target, db, 'SELECT COUNT(*) AS n FROM ip_label');
      assert.equal(Number(labelRows?.n), 2);
      if (target.name === 'sqlite') {
        // The rewritten record is compressed, against a dictionary sampled from the records stored as text.
        const [kept] = await rawQuery(target, db, "SELECT typeof(context) AS form FROM ip_data WHERE ip_text = '198.51.100.1'");
        assert.equal(kept?.form, 'blob');
        const [dictionary] = await rawQuery(target, db, 'SELECT content FROM context_dictionary');
        const sampled = OLD_RECORDS.map((record) => `${record.context}\n`).join('');
        assert.equal((dictionary?.content as Buffer).toString().slice(0, sampled.length), sampled);
      }
    } finally {
      await store.close();
    }
  });
});

// SQLite schema 11 rewrote ip_label's addresses as shorter keys (sqlite-ip-key.ts): the
// migration spells the encoding in SQL of its own, which must give the keys the code writes.
test('sqlite: label rows stored before schema 11 get the keys the import writes, and list in address order', async () => {
  const [sqlite] = STORE_TARGETS;
  const db = await sqlite!.createDatabase();
  try {
    await releaseDatabase(sqlite!, db, 10);
    const addresses = ['100::1', '0.1.2.3', '::2', '192.0.2.1'];
    await rawQuery(sqlite!, db, "INSERT INTO label (id, kind, value) VALUES (7, 'risk', 'TUNNEL')");
    for (const ip of addresses) {
      const context = JSON.stringify({ ip, risks: ['TUNNEL'] });
      await rawQuery(
        sqlite!,
        db,
        `INSERT INTO ip_data (ip, prefix_len, feed_id, ip_text, context, label_ids, record_hash, last_updated)
         VALUES (?, 128, 1, ?, ?, '[7]', ?, 1767225600)`,
        [parseIp(ip).bytes, parseIp(ip).text, context, createHash('md5').update(context).digest()],
      );
      await rawQuery(sqlite!, db, 'INSERT INTO ip_label (label_id, ip, prefix_len, feed_id) VALUES (7, ?, 128, 1)', [parseIp(ip).bytes]);
    }
    const store = await openStore(db.url);
    try {
      const listed = await store.list({ labels: [{ kind: 'risk', value: 'TUNNEL' }], limit: 10 });
      assert.deepEqual(
        listed.records.map((r) => r.key),
        ['::2', '0.1.2.3', '192.0.2.1', '100::1'],
      );
    } finally {
      await store.close();
    }
    const keys = await rawQuery(sqlite!, db, 'SELECT hex(ip_key) AS key FROM ip_label ORDER BY ip_key');
    assert.deepEqual(
      keys.map((row) => row.key),
      ['::2', '0.1.2.3', '192.0.2.1', '100::1'].map((ip) => ipKey(parseIp(ip).bytes).toString('hex').toUpperCase()),
    );
    // The view for people joins ip_label to ip_data by the address as ip_data keeps it.
    const joined = await rawQuery(
      sqlite!,
      db,
      'SELECT d.ip_text FROM ip_label_address il JOIN ip_data d USING (ip, prefix_len, feed_id) ORDER BY il.ip',
    );
    assert.deepEqual(
      joined.map((row) => row.ip_text),
      ['::2', '0.1.2.3', '192.0.2.1', '100::1'],
    );
  } finally {
    await db.drop();
  }
});
