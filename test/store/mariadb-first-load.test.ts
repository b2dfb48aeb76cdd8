import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { importFeed } from '../../src/import/importer.ts';
import { connect, connectionOptions } from '../../src/store/mariadb/mariadb-connection.ts';
import { quietLogger, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { databaseTables, definitionsOf, freshStore, MARIADB_URL, STORE_TARGETS } from '../helpers/stores.ts';

describe('MariaDB first load', { skip: MARIADB_URL ? false : 'set IPOID_TEST_MARIADB_URL to run' }, () => {
  test('killed during its switch, after the live foreign keys were renamed: the next import gives them back their names', async () => {
    const { store, url, close } = await freshStore(STORE_TARGETS.find((target) => target.name === 'mariadb')!);
    try {
      const before = await databaseTables(url);
      // What switchIn leaves if the process dies between its ALTERs and the RENAME.
      const conn = await connect(connectionOptions(url));
      try {
        await conn.query('CREATE TABLE ip_data_load LIKE ip_data');
        await conn.query('SET SESSION foreign_key_checks = 0');
        await conn.query(
          'ALTER TABLE ip_data DROP FOREIGN KEY ip_data_feed, ADD CONSTRAINT ip_data_feed_switching FOREIGN KEY (feed_id) REFERENCES feed (id)',
        );
      } finally {
        await conn.end();
      }
      const run = await importFeed(store, SAMPLE_FEED, { feed: 'anonymous', logger: quietLogger });
      assert.equal(run.records, 10);
      assert.deepEqual(definitionsOf(await databaseTables(url)), definitionsOf(before));
    } finally {
      await close();
    }
  });
});
