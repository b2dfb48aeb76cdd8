import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mariadb, { type Connection } from 'mariadb';
import { importFeed } from '../../src/import/importer.ts';
import { parseIp } from '../../src/feed/ip.ts';
import { openStore } from '../../src/store/open.ts';
import { quietLogger, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { MARIADB_URL } from '../helpers/stores.ts';

const USERS_SQL = join(import.meta.dirname, '..', '..', 'deploy', 'sql', 'users.sql');
const ER_TABLEACCESS_DENIED = 1142;

describe('deploy/sql/users.sql', { skip: MARIADB_URL ? false : 'set IPOID_TEST_MARIADB_URL to run' }, () => {
  const server = new URL(MARIADB_URL ?? 'mariadb://localhost');
  // Unique names, so that parallel runs on one server do not clash.
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const database = `ipoid_sqltest_${suffix}`;
  const users = { reader: `ipoid_r_${suffix}`, importer: `ipoid_i_${suffix}` };
  const passwords = { reader: `r-${suffix}`, importer: `i-${suffix}` };
  const urlFor = (role: 'reader' | 'importer'): string => {
    const url = new URL(server);
    url.username = users[role];
    url.password = passwords[role];
    url.pathname = `/${database}`;
    return url.toString();
  };
  const connectAs = (user: string, password: string, multipleStatements = false): Promise<Connection> =>
    mariadb.createConnection({ host: server.hostname, port: Number(server.port || 3306), user, password, multipleStatements });
  const admin = () => connectAs(decodeURIComponent(server.username), decodeURIComponent(server.password), true);

  before(async () => {
    const sql = readFileSync(USERS_SQL, 'utf8')
      .replaceAll('`ipoid`', `\`${database}\``)
      .replaceAll("'ipoid_reader'", `'${users.reader}'`)
      .replaceAll("'ipoid_importer'", `'${users.importer}'`)
      .replace('REPLACE_WITH_READER_PASSWORD', passwords.reader)
      .replace('REPLACE_WITH_IMPORTER_PASSWORD', passwords.importer);
    const conn = await admin();
    try {
      await conn.query(sql);
    } finally {
      await conn.end();
    }
  });
  after(async () => {
    const conn = await admin();
    try {
      await conn.query(`DROP USER IF EXISTS '${users.reader}'@'%', '${users.importer}'@'%'; DROP DATABASE IF EXISTS \`${database}\``);
    } finally {
      await conn.end();
    }
  });

  test('the import user can migrate the schema and import a feed', async () => {
    const store = await openStore(urlFor('importer'));
    try {
      const run = await importFeed(store, SAMPLE_FEED, { feed: 'anonymous', logger: quietLogger });
      assert.equal(run.status, 'succeeded');
    } finally {
      await store.close();
    }
  });

  test('the read-only user serves lookups but may not write', async () => {
    const store = await openStore(urlFor('reader'), { readOnly: true });
    try {
      assert.equal((await store.lookup(parseIp('1.1.1.1'))).length, 1);
    } finally {
      await store.close();
    }
    const conn = await connectAs(users.reader, passwords.reader);
    try {
      const grants = (await conn.query<Record<string, string>[]>('SHOW GRANTS')).map((row) => Object.values(row)[0]!.replace(/ IDENTIFIED BY .*/, ''));
      assert.deepEqual(grants, [`GRANT USAGE ON *.* TO \`${users.reader}\`@\`%\``, `GRANT SELECT ON \`${database}\`.* TO \`${users.reader}\`@\`%\``], 'SELECT and nothing else');
      const [row] = await conn.query<{ n: bigint }[]>(`SELECT COUNT(*) AS n FROM \`${database}\`.ip_data`);
      assert.ok(Number(row?.n) > 0);
      for (const sql of [`DELETE FROM \`${database}\`.ip_data`, `INSERT INTO \`${database}\`.feed (id, name) VALUES (99, 'x')`, `CREATE TABLE \`${database}\`.t (i INT)`]) {
        await assert.rejects(conn.query(sql), (err: { errno?: number }) => err.errno === ER_TABLEACCESS_DENIED, sql);
      }
    } finally {
      await conn.end();
    }
  });
});
