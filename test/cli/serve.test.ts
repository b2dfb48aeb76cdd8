import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { finished, runCli, spawnCli } from '../helpers/cli.ts';
import { jsonLinesFeed, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { LISTENING } from '../helpers/serve-process.ts';
import { forEachStore, readOnlyUser, type TestDatabase } from '../helpers/stores.ts';
import { outputMatch, request } from '../helpers/http.ts';

// Servers still running when a test fails, so that they don't keep the test process alive.
const running = new Set<ChildProcess>();

function ipoid(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawnCli(args, env);
  running.add(child);
  child.on('close', () => running.delete(child));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  const result = finished(child);
  child.kill('SIGTERM');
  const { code, stderr } = await result;
  assert.equal(code, 0, `clean exit on SIGTERM: ${stderr}`);
}

forEachStore((target) => {
  let db: TestDatabase;
  before(async () => {
    db = await target.createDatabase();
  });
  after(async () => {
    for (const child of running) child.kill('SIGKILL');
    await db.drop();
  });

  test('serve starts on the configured store, logs its URL, answers, and stops on SIGTERM', async () => {
    const env = { IPOID_DB_URL: db.url, IPOID_PORT: '0', IPOID_LOG_LEVEL: 'info' };
    const empty = ipoid(['serve'], env);
    const [, emptyUrl] = await outputMatch(empty, 'stderr', LISTENING);
    assert.equal((await request(`${emptyUrl}/healthz`)).status, 200);
    assert.equal((await request(`${emptyUrl}/readyz`)).status, 503);
    await stop(empty);

    const imported = await runCli(['import', SAMPLE_FEED], { IPOID_DB_URL: db.url });
    assert.equal(imported.code, 0, imported.stderr);
    const child = ipoid(['serve'], env);
    const [, url] = await outputMatch(child, 'stderr', LISTENING);
    assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/, 'IPOID_HOST defaults to 127.0.0.1');
    assert.equal((await request(`${url}/readyz`)).status, 200);
    assert.equal((await request(`${url}/feed/v1/ip/1.1.1.1`)).json['1.1.1.1'].org, 'Organization 1');
    await stop(child);
  });

  test('serve reads through IPOID_DB_READ_URL, read-only', async () => {
    const reader = await readOnlyUser(target, db.url);
    try {
      const child = ipoid(['serve'], {
        IPOID_DB_URL: 'sqlite:/nonexistent/unused.db',
        IPOID_DB_READ_URL: reader.url,
        IPOID_PORT: '0',
        IPOID_LOG_LEVEL: 'info',
        IPOID_API_TOKENS: 'tok',
      });
      const [, url] = await outputMatch(child, 'stderr', LISTENING);
      assert.equal((await request(`${url}/feed/v1/ip/203.0.113.7`)).status, 401);
      const answer = await request(`${url}/feed/v1/ip/203.0.113.7`, { headers: { authorization: 'Bearer tok' } });
      assert.deepEqual(answer.json['203.0.113.7'].tunnels, ['NORD_VPN']);
      assert.equal((await request(`${url}/feed/v1/labels`, { headers: { authorization: 'Bearer tok' } })).status, 200);
      await stop(child);
    } finally {
      await reader.drop();
    }
  });

  test('serve refuses a bad IPOID_PORT with a message', async () => {
    const result = await runCli(['serve'], { IPOID_DB_URL: db.url, IPOID_PORT: 'eighty' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /IPOID_PORT must be a port number/);
  });

  test('start imports the feed, then serves it and prints the URL with a sample curl', async () => {
    const child = ipoid(['start', '--feed', SAMPLE_FEED], { IPOID_DB_URL: db.url, IPOID_PORT: '0' });
    const [, url, console, curl] = await outputMatch(
      child,
      'stdout',
      /IPoid API on (http:\/\/[\d.:]+).*\n {2}web console: (\S+)\n {2}curl (\S+)\n/,
    );
    assert.equal(console, `${url}/ui/`);
    assert.equal(curl, `${url}/feed/v1/ip/1.1.1.1`);
    assert.equal((await request(curl)).status, 200);
    await stop(child);
  });

  test("start's sample curl names an address when the first stored record is a network", async () => {
    const feed = jsonLinesFeed([{ network: '1.0.0.0/24', risks: ['TUNNEL'] }, { ip: '1.0.1.1' }]);
    const child = ipoid(['start', '--feed', feed, '--force'], { IPOID_DB_URL: db.url, IPOID_PORT: '0' });
    const [, url, curl] = await outputMatch(child, 'stdout', /IPoid API on (http:\/\/[\d.:]+).*\n.*\n {2}curl (\S+)\n/);
    assert.equal(curl, `${url}/feed/v1/ip/1.0.0.0`);
    assert.equal((await request(curl)).status, 200);
    await stop(child);
  });
});
