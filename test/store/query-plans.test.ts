import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { parseIp, parseNetwork } from '../../src/feed/ip.ts';
import { runGenerate } from '../../src/generator/index.ts';
import { importFeed } from '../../src/import/importer.ts';
import { listQuery } from '../../src/store/mariadb/mariadb-list-query.ts';
import {
  MARIADB_CREATE_IMPORT_GONE_SQL,
  MARIADB_CREATE_IMPORT_HISTORY_SQL,
  MARIADB_GONE_SQL,
  MARIADB_REALTIME_SQL,
  MARIADB_SAME_DAY_SQL,
  storedHashesSql,
} from '../../src/store/mariadb/mariadb-import.ts';
import {
  MARIADB_DELETE_GONE_LABELS_SQL,
  MARIADB_INSERT_NEW_LABELS_SQL,
  MariadbLabelChanges,
} from '../../src/store/mariadb/mariadb-label-changes.ts';
import { lookupSql, mariadbChangedKeysSql, RECORD_COLUMNS } from '../../src/store/mariadb/mariadb-store.ts';
import { RUN_INSERT_COLUMNS as RUN_COLUMNS } from '../../src/store/rows.ts';
import { connect, connectionOptions } from '../../src/store/mariadb/mariadb-connection.ts';
import { SQLITE_HASH_SQL, SQLITE_REALTIME_SQL } from '../../src/store/sqlite/sqlite-import.ts';
import {
  DELETE_GONE_LABELS_SQL,
  INSERT_NEW_LABELS_SQL,
  SORT_LABEL_CHANGES_SQL,
  SqliteLabelChanges,
} from '../../src/store/sqlite/sqlite-label-changes.ts';
import { APPLY_INSERTS_SQL, APPLY_UPDATES_SQL, SqliteDataChanges } from '../../src/store/sqlite/sqlite-data-changes.ts';
import { sqliteListQuery } from '../../src/store/sqlite/sqlite-list-query.ts';
import { ContextCodec } from '../../src/store/sqlite/sqlite-context-codec.ts';
import { SQLITE_PAST_SQL, SQLITE_PROBE_SQL, sqliteChangedKeysSql } from '../../src/store/sqlite/sqlite-store.ts';
import { encodeCursor } from '../../src/store/cursor.ts';
import { PRUNE_STATE_SQL } from '../../src/store/shared-sql.ts';
import { SQLITE_CREATE_IMPORT_HISTORY_SQL, SQLITE_SAME_DAY_SQL } from '../../src/store/sqlite/sqlite-history.ts';
import type { ListQuery } from '../../src/store/types.ts';
import { quietLogger, tempDir } from '../helpers/fixtures.ts';
import { forEachStore, freshStore } from '../helpers/stores.ts';

/*
 * The plans of the statements the stores run, on a few thousand generated records: each
 * uses the index its comment promises, with no full scan of a big table and no sort.
 */
const feed = join(tempDir(), 'feed.json.gz');
const nextDay = join(tempDir(), 'next-day.json.gz');
const address = parseIp('2001:db8::1');
const prefix = parseNetwork('10.0.0.0/8');
const risk = { kind: 'risk', value: 'TUNNEL' } as const;
const page = (query: Partial<ListQuery>): ListQuery => ({ labels: [], limit: 100, ...query });

before(async () => {
  await runGenerate({ count: 3000, seed: 7, out: feed });
  await runGenerate({ from: feed, churn: 0.05, seed: 8, out: nextDay });
});

forEachStore((target) => {
  let url: string;
  let close: () => Promise<void>;
  before(async () => {
    const opened = await freshStore(target);
    ({ url, close } = opened);
    await importFeed(opened.store, feed, { feed: 'anonymous', feedDate: '2026-11-01', logger: quietLogger });
    // A second day, so that ip_history holds states.
    await importFeed(opened.store, nextDay, { feed: 'anonymous', feedDate: '2026-11-02', logger: quietLogger });
  });
  after(async () => close());

  if (target.name === 'sqlite') {
    let db: Database.Database;
    before(() => {
      const path = url.slice('sqlite:'.length);
      db = new Database(path, { readonly: true });
      new ContextCodec(db, path); // the statements read records through ipoid_context()
    });
    after(() => db.close());
    const plan = (sql: string, params: unknown[]): string => {
      const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
      return rows.map((r) => r.detail).join('\n');
    };
    const noScanNoSort = (detail: string): void => {
      assert.doesNotMatch(detail, /^SCAN /m, detail);
      assert.doesNotMatch(detail, /TEMP B-TREE/, detail);
    };
    const riskId = () => (db.prepare('SELECT id FROM label WHERE kind = ? AND value = ?').get(risk.kind, risk.value) as { id: number }).id;

    test("realtime: a slot's base (the full import, the newest slot, the slot's failures) is a range of import_run_feed_kind", () => {
      for (const [sql, params] of [
        [SQLITE_REALTIME_SQL.latestFull, [1]],
        [SQLITE_REALTIME_SQL.latestSlot, [1, 0]],
        [SQLITE_REALTIME_SQL.slotFailures, [1, 1767225600]],
      ] as const) {
        const detail = plan(sql, [...params]);
        assert.match(detail, /SEARCH import_run USING (COVERING )?INDEX import_run_feed_kind/, detail);
        noScanNoSort(detail);
      }
    });

    test('a lookup probe is one range of ip_data_key', () => {
      const detail = plan(SQLITE_PROBE_SQL, [address.bytes]);
      assert.match(detail, /SEARCH d USING INDEX ip_data_key \(ip=\?\)/);
      noScanNoSort(detail);
    });

    test("history: a page of changed keys is a range of ip_history's key in order; a key's past and a prune are key lookups", () => {
      const changed = sqliteChangedKeysSql({
        since: 20260101,
        within: prefix,
        after: encodeCursor({ ip: prefix.bytes, prefixLen: 128, feedId: 1 }),
        limit: 10,
      });
      const pageDetail = plan(changed.sql, changed.values);
      assert.match(pageDetail, /SEARCH h USING PRIMARY KEY/);
      noScanNoSort(pageDetail);
      const past = plan(SQLITE_PAST_SQL, [address.bytes]);
      assert.match(past, /SEARCH ip_history USING PRIMARY KEY \(ip=\?\)/);
      noScanNoSort(past);
      const prune = plan(PRUNE_STATE_SQL, [address.bytes, 128, 1, 20260101]);
      assert.match(prune, /SEARCH ip_history USING PRIMARY KEY \(ip=\? AND prefix_len=\? AND feed_id=\? AND ended_on=\?\)/);
      noScanNoSort(prune);
      // A second import of a day probes ip_history by each staged key, never scans it.
      db.exec(SQLITE_CREATE_IMPORT_HISTORY_SQL);
      // A page of it starts at a staged key and reads on in the staged keys' order: no sort.
      const sameDay = plan(SQLITE_SAME_DAY_SQL, [1, 20260101, Buffer.alloc(0), 0]);
      assert.match(sameDay, /SEARCH h USING PRIMARY KEY \(ip=\? AND prefix_len=\? AND feed_id=\? AND ended_on=\?\)/);
      assert.match(sameDay, /SEARCH s USING PRIMARY KEY \(\(ip,prefix_len\)>\(\?,\?\)\)/);
      assert.doesNotMatch(sameDay, /SCAN h|TEMP B-TREE/);
    });

    test('a list page with a label scans ip_label by its key, in order', () => {
      const { sql, params } = sqliteListQuery([riskId()], page({ labels: [risk] }));
      const detail = plan(sql, params);
      assert.match(detail, /SEARCH k USING PRIMARY KEY \(label_id=\?\)/);
      assert.match(detail, /SEARCH d USING INDEX ip_data_key \(ip=\? AND prefix_len=\? AND feed_id=\?\)/);
      noScanNoSort(detail);
    });

    test('a list page with a prefix is a range of ip_data_key', () => {
      const { sql, params } = sqliteListQuery([], page({ within: prefix }));
      const detail = plan(sql, params);
      assert.match(detail, /SEARCH d USING INDEX ip_data_key \(ip>\? AND ip<\?\)/);
      noScanNoSort(detail);
    });

    test('a list page with a label and a prefix is a range of ip_label by label and address', () => {
      const { sql, params } = sqliteListQuery([riskId()], page({ labels: [risk], within: prefix }));
      const detail = plan(sql, params);
      assert.match(detail, /SEARCH k USING PRIMARY KEY \(label_id=\? AND ip_key>\? AND ip_key<\?\)/);
      noScanNoSort(detail);
    });

    test("the import's stored-hash lookup is one key of ip_data_key", () => {
      const detail = plan(SQLITE_HASH_SQL, [address.bytes, 128, 1]);
      assert.match(detail, /SEARCH ip_data USING INDEX ip_data_key \(ip=\? AND prefix_len=\? AND feed_id=\?\)/);
      noScanNoSort(detail);
    });

    describe("a diff's label changes, applied at commit", () => {
      before(() => {
        // The import's own temporary tables, on this read-only connection.
        db.exec('CREATE TEMP TABLE import_gone (ip BLOB, prefix_len INTEGER, label_ids TEXT)');
        new SqliteLabelChanges(db, 1);
      });

      const stretch = [{ feed: 1, first: 1, last: 4096 }];

      test('the rows that go and come are sorted once, into the order of that key', () => {
        assert.match(plan(SORT_LABEL_CHANGES_SQL, []), /USE TEMP B-TREE FOR ORDER BY/);
      });

      test("a stretch's rows that go are read by rowid, and found by the key of ip_label, one probe each", () => {
        const detail = plan(DELETE_GONE_LABELS_SQL, stretch);
        assert.match(detail, /SEARCH ip_label USING PRIMARY KEY \(label_id=\? AND ip_key=\? AND prefix_len=\? AND feed_id=\?\)/);
        assert.match(detail, /SEARCH temp\.import_label_changes USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
        assert.doesNotMatch(detail, /SCAN ip_label/, detail);
      });

      test("a stretch's rows that come are read by rowid, already in key order", () => {
        const detail = plan(INSERT_NEW_LABELS_SQL, stretch);
        assert.match(detail, /SEARCH temp\.import_label_changes USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
        noScanNoSort(detail);
      });
    });

    describe("a diff's record writes, applied at commit", () => {
      before(() => new SqliteDataChanges(db, 1));

      test('the updates are sorted into key order, each finding its row by ip_data_key', () => {
        const detail = plan(APPLY_UPDATES_SQL, []);
        assert.match(detail, /SCAN temp\.import_data_changed/, detail);
        assert.match(detail, /USE TEMP B-TREE FOR ORDER BY/, detail);
        assert.match(detail, /SEARCH ip_data USING (COVERING )?INDEX ip_data_key \(ip=\? AND prefix_len=\? AND feed_id=\?\)/, detail);
        assert.doesNotMatch(detail, /SCAN ip_data/, detail);
      });

      test('the inserts are sorted into key order', () => {
        assert.match(plan(APPLY_INSERTS_SQL, []), /USE TEMP B-TREE FOR ORDER BY/);
      });
    });
  } else {
    interface PlanRow {
      table: string;
      type: string;
      key: string | null;
      Extra: string;
    }
    /** Runs `work` on a session of its own (temporary tables are the session's). */
    const inSession = async <T>(work: (conn: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> => {
      const conn = await connect(connectionOptions(url));
      try {
        return await work(conn);
      } finally {
        await conn.end();
      }
    };
    const plan = (sql: string, values: unknown[]): Promise<PlanRow[]> =>
      inSession(async (conn) => {
        await conn.query('ANALYZE TABLE ip_data, ip_label, label, ip_history');
        return conn.query<PlanRow[]>(`EXPLAIN ${sql}`, values);
      });
    const table = (rows: PlanRow[], name: string): PlanRow => {
      const row = rows.find((r) => r.table === name);
      assert.ok(row, `${name} in ${JSON.stringify(rows)}`);
      return row;
    };
    const noFullScanNoSort = (rows: PlanRow[]): void => {
      for (const row of rows) {
        // Only the one-row derived table of the stored network lengths is read whole.
        if (!row.table.startsWith('<derived')) assert.notEqual(row.type, 'ALL', JSON.stringify(row));
        assert.doesNotMatch(row.Extra ?? '', /Using temporary|Using filesort/, JSON.stringify(row));
      }
    };
    const usesIndex = (row: PlanRow, key: string, types: readonly string[]): void => {
      assert.equal(row.key, key, JSON.stringify(row));
      assert.ok(types.includes(row.type), JSON.stringify(row));
    };

    test("realtime: a slot's base (the full import, the newest slot, the slot's failures) is an index range of import_run", async () => {
      // A few days of slots of two feeds, as a follower leaves them, so that InnoDB's choice is the one it makes in use.
      await inSession(async (conn) => {
        await conn.query(`INSERT INTO import_run (${RUN_COLUMNS})
          SELECT feed_id + f.n, feed_date, data_date, history_kept, file, started_at, finished_at, lines_read, lines_skipped,
                 inserted, updated, deleted, records, status, error, skipped_sample, 'realtime', FROM_UNIXTIME(1767225600 + seq * 300)
            FROM import_run, seq_1_to_400, (SELECT 0 AS n UNION ALL SELECT 1) f WHERE id = 1`);
        await conn.query('ANALYZE TABLE import_run');
      });
      for (const [sql, values] of [
        [MARIADB_REALTIME_SQL.latestFull, [1]],
        [MARIADB_REALTIME_SQL.latestSlot, [1, 2]],
        [MARIADB_REALTIME_SQL.slotFailures, [1, 1767225600]],
      ] as const) {
        const rows = await plan(sql, [...values]);
        // (feed_id, status, id) serves too: no scan and no sort either way.
        const run = table(rows, 'import_run');
        assert.ok(['import_run_feed_kind', 'import_run_feed_status'].includes(run.key ?? ''), JSON.stringify(run));
        noFullScanNoSort(rows);
      }
    });

    test("history: a page of changed keys is a range of ip_history's key in key order, without a sort", async () => {
      const cursor = encodeCursor({ ip: prefix.bytes, prefixLen: 128, feedId: 1 });
      const { sql, values } = mariadbChangedKeysSql({ since: 20261101, after: cursor, limit: 10 });
      const rows = await plan(sql, values);
      usesIndex(table(rows, 'h'), 'PRIMARY', ['range', 'index']);
      noFullScanNoSort(rows);
    });

    test("history: a page of a day's second import reads the staged keys on from a key, in order, probing ip_history and ip_data", async () => {
      // The staged keys are the session's own temporary table, as the import has it.
      await inSession(async (conn) => {
        await conn.query(MARIADB_CREATE_IMPORT_HISTORY_SQL);
        await conn.query('INSERT INTO import_history (ip, prefix_len) SELECT ip, prefix_len FROM ip_data');
        await conn.query('ANALYZE TABLE import_history, ip_history, ip_data');
        for (const [sql, values, scan] of [
          [MARIADB_SAME_DAY_SQL.first, [1, 20261101], ['index']],
          [MARIADB_SAME_DAY_SQL.after, [1, 20261101, address.bytes, address.bytes, 128], ['range']],
        ] as const) {
          const rows = await conn.query<PlanRow[]>(`EXPLAIN ${sql}`, [...values]);
          usesIndex(table(rows, 's'), 'PRIMARY', scan);
          usesIndex(table(rows, 'h'), 'PRIMARY', ['eq_ref']);
          usesIndex(table(rows, 'd'), 'PRIMARY', ['eq_ref']);
          noFullScanNoSort(rows);
        }
      });
    });

    test('a lookup is ranges of the primary key, without a temporary table', async () => {
      const starts = [address.bytes, parseIp('10.1.2.3').bytes, parseIp('10.1.2.0').bytes, parseIp('2001:db8::').bytes];
      const rows = await plan(lookupSql(starts.length), starts);
      usesIndex(table(rows, 'd'), 'PRIMARY', ['range']);
      noFullScanNoSort(rows);
    });

    test('a list page with a label scans ip_label by its key, in order', async () => {
      const { sql, values } = listQuery(page({ labels: [risk] }), RECORD_COLUMNS);
      const rows = await plan(sql, values);
      usesIndex(table(rows, 'k0'), 'PRIMARY', ['ref', 'range']);
      usesIndex(table(rows, 'd'), 'PRIMARY', ['eq_ref']);
      noFullScanNoSort(rows);
    });

    test('a list page with a prefix is a range of the primary key', async () => {
      const { sql, values } = listQuery(page({ within: prefix }), RECORD_COLUMNS);
      const rows = await plan(sql, values);
      usesIndex(table(rows, 'd'), 'PRIMARY', ['range']);
      noFullScanNoSort(rows);
    });

    test('a list page with a label and a prefix is a range of ip_label by label and address', async () => {
      const { sql, values } = listQuery(page({ labels: [risk], within: prefix }), RECORD_COLUMNS);
      const rows = await plan(sql, values);
      // The label's range of the primary key, in key order, so nothing sorts. On so small a
      // table InnoDB's sampled statistics sometimes make the prefix's range of ip_data the
      // driving one instead (seen in CI), also in key order, each label row then one key.
      usesIndex(table(rows, 'k0'), 'PRIMARY', ['range', 'eq_ref']);
      usesIndex(table(rows, 'd'), 'PRIMARY', ['eq_ref', 'range']);
      noFullScanNoSort(rows);
    });

    test("a diff's gone records are read, and deleted, in import_gone's key order, each a key of ip_data", async () => {
      // The import's temporary table, on a session of its own, holding some of the stored keys.
      await inSession(async (conn) => {
        await conn.query(MARIADB_CREATE_IMPORT_GONE_SQL);
        await conn.query('INSERT INTO import_gone (ip, prefix_len) SELECT ip, prefix_len FROM ip_data WHERE feed_id = 1 LIMIT 50');
        await conn.query('ANALYZE TABLE import_gone, ip_data');
        for (const sql of [MARIADB_GONE_SQL.copy, MARIADB_GONE_SQL.delete]) {
          const rows = await conn.query<PlanRow[]>(`EXPLAIN ${sql}`, [1]);
          // A whole scan of import_gone is a scan of its primary key (InnoDB clusters by it): key order.
          assert.equal(rows[0]!.table, 'g', JSON.stringify(rows));
          usesIndex(table(rows, 'd'), 'PRIMARY', ['eq_ref']);
          assert.doesNotMatch(JSON.stringify(rows), /Using temporary|Using filesort/);
        }
      });
    });

    test("a diff's label changes, applied at commit, go in ip_label's key order: the deletes probe its key, the inserts need no sort", async () => {
      await inSession(async (conn) => {
        await MariadbLabelChanges.create(conn);
        for (const staged of ['import_label_gone', 'import_label_new'])
          await conn.query(`INSERT INTO ${staged} (label_id, ip, prefix_len) SELECT label_id, ip, prefix_len FROM ip_label LIMIT 50`);
        await conn.query('ANALYZE TABLE import_label_gone, import_label_new, ip_label');
        const deletes = await conn.query<PlanRow[]>(`EXPLAIN ${MARIADB_DELETE_GONE_LABELS_SQL}`, [1]);
        assert.equal(deletes[0]!.table, 'g', JSON.stringify(deletes));
        usesIndex(table(deletes, 'l'), 'PRIMARY', ['eq_ref']);
        const inserts = await conn.query<PlanRow[]>(`EXPLAIN ${MARIADB_INSERT_NEW_LABELS_SQL}`, [1]);
        assert.doesNotMatch(JSON.stringify([...deletes, ...inserts]), /Using temporary|Using filesort/);
      });
    });

    test("the import's stored-hash lookup reads ranges of the primary key", async () => {
      const starts = [address.bytes, parseIp('10.1.2.3').bytes, parseIp('10.1.2.4').bytes];
      const rows = await plan(storedHashesSql(starts.length), [1, ...starts]);
      const d = table(rows, 'ip_data');
      usesIndex(d, 'PRIMARY', ['range']);
      noFullScanNoSort(rows);
    });
  }
});
