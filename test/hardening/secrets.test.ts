import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startFakeSpur, type FakeSpur } from '../../src/spur/fake-server.ts';
import { request } from '../helpers/http.ts';
import { runCli } from '../helpers/cli.ts';
import { SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';
import { serveProcess } from '../helpers/serve-process.ts';
import { forEachStore, mariadbUser, type DatabaseUser, type TestDatabase } from '../helpers/stores.ts';
import { writeFeed } from '../helpers/spur-feeds.ts';

const secret = (name: string): string => `${name}-${randomBytes(9).toString('base64url')}`;
const SECRETS = {
  dbPassword: secret('db-pass'),
  wrongDbPassword: secret('wrong-db-pass'),
  apiToken: secret('api-token'),
  wrongApiToken: secret('wrong-api-token'),
  spurToken: secret('spur-token'),
  wrongSpurToken: secret('wrong-spur-token'),
};

/** Everything every command printed and every answer said, to be searched for secrets. */
const seen: string[] = [];

function assertNoSecret(): void {
  const text = seen.join('\n');
  for (const [name, value] of Object.entries(SECRETS)) {
    for (const form of [value, encodeURIComponent(value), Buffer.from(value).toString('base64')]) {
      assert.ok(!text.includes(form), `${name} appeared in a log line or an answer`);
    }
  }
}

let spur: FakeSpur;
before(async () => {
  const feeds = tempDir();
  await writeFeed(feeds, 'anonymous', '20260101', 5);
  spur = await startFakeSpur({ dir: feeds, token: SECRETS.spurToken });
});
after(async () => spur.close());

forEachStore((target) => {
  let db: TestDatabase;
  /** The database URL, as a MariaDB user with a password (SQLite has none to leak). */
  let dbUrl: string;
  let withPassword: (password: string) => string;
  let user: DatabaseUser | undefined;
  before(async () => {
    db = await target.createDatabase();
    withPassword = () => db.url;
    if (target.name === 'mariadb') {
      user = await mariadbUser(db.url, `ipoid_secret_${process.pid}`, SECRETS.dbPassword, 'ALL');
      withPassword = (password) => {
        const url = new URL(user!.url);
        url.password = password;
        return url.toString();
      };
    }
    dbUrl = withPassword(SECRETS.dbPassword);
  });
  after(async () => {
    await user?.drop();
    await db.drop();
  });

  const ipoid = async (args: string[], env: Record<string, string>) => {
    const result = await runCli(args, { IPOID_LOG_LEVEL: 'debug', ...env });
    seen.push(result.stdout, result.stderr);
    return result;
  };

  test('no secret in any log line or error, at debug level, when commands succeed or fail', async () => {
    assert.equal((await ipoid(['import', SAMPLE_FEED], { IPOID_DB_URL: dbUrl })).code, 0);
    const update = {
      IPOID_DB_URL: dbUrl,
      IPOID_DOWNLOAD_DIR: tempDir(),
      SPUR_FEED_BASE_URL: spur.url,
      IPOID_FEEDS: 'anonymous',
      IPOID_MAX_FEED_AGE_DAYS: '0',
      SPUR_API_TOKEN_FILE: '',
    };
    // The fake feed replaces the sample's records on purpose: --force, past the change limit.
    assert.equal((await ipoid(['update', '--force'], { ...update, SPUR_API_TOKEN: SECRETS.spurToken })).code, 0);
    assert.equal((await ipoid(['update'], { ...update, SPUR_API_TOKEN: SECRETS.wrongSpurToken })).code, 4);
    if (target.name === 'mariadb') {
      const refused = await ipoid(['import', SAMPLE_FEED], { IPOID_DB_URL: withPassword(SECRETS.wrongDbPassword) });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /Access denied/);
      assert.equal((await ipoid(['serve'], { IPOID_DB_READ_URL: withPassword(SECRETS.wrongDbPassword), IPOID_PORT: '0' })).code, 1);
    }
    assertNoSecret();
  });

  test("no secret in the API's logs or answers, whatever the token", async () => {
    // The update above replaced the sample's records with the fake feed's (--force: all of them change back).
    assert.equal((await ipoid(['import', SAMPLE_FEED, '--force'], { IPOID_DB_URL: dbUrl })).code, 0);
    const server = await serveProcess({
      IPOID_DB_READ_URL: dbUrl,
      IPOID_API_TOKENS: `other-token,${SECRETS.apiToken}`,
      IPOID_LOG_LEVEL: 'debug',
    });
    const ask = async (path: string, token?: string, body?: unknown) => {
      const answer = await request(`${server.url}${path}`, {
        method: body ? 'POST' : 'GET',
        body,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      seen.push(answer.text, JSON.stringify([...answer.headers]));
      return answer.status;
    };
    try {
      assert.equal(await ask('/feed/v1/ip/1.1.1.1', SECRETS.apiToken), 200);
      assert.equal(await ask('/feed/v1/ip/1.1.1.1', SECRETS.wrongApiToken), 401);
      assert.equal(await ask('/feed/v1/ip/1.1.1.1'), 401);
      assert.equal(await ask('/feed/v1/ip/not-an-ip', SECRETS.apiToken), 400);
      assert.equal(await ask('/feed/v1/ips', SECRETS.apiToken, { ips: ['1.1.1.1', '8.8.8.8'] }), 200);
      assert.equal(await ask('/feed/v1/ips?risk=TUNNEL', SECRETS.apiToken), 200);
      assert.equal(await ask('/metrics'), 200);
      assert.equal(await ask('/_info'), 200);
    } finally {
      const stopped = await server.stop();
      seen.push(stopped.stdout, stopped.stderr);
    }
    assert.ok(
      seen.some((text) => text.includes('IPoid API listening')),
      'the logs were read',
    );
    assertNoSecret();
  });
});
