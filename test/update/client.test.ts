import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { IncompleteDownloadError } from '../../src/spur/errors.ts';
import { VERSION } from '../../src/version.ts';
import { startFakeSpur, type FakeSpur } from '../../src/spur/fake-server.ts';
import { tempDir } from '../helpers/fixtures.ts';
import { testClient, TOKEN, writeFeed } from '../helpers/spur-feeds.ts';

const dir = tempDir();
let spur: FakeSpur;

before(async () => {
  await writeFeed(dir, 'anonymous', '20260101', 1);
  // A feed whose stored file is cut short: served whole, with a matching Content-Length.
  await writeFeed(dir, 'anonymous-residential', '20260101', 2);
  const file = join(dir, 'anonymous-residential', '20260101', 'feed.json.gz');
  const gzip = readFileSync(file);
  writeFileSync(file, gzip.subarray(0, gzip.length / 2));
  spur = await startFakeSpur({ dir, token: TOKEN });
});
after(async () => spur.close());

test('the latest feed: the redirect resolved against the base URL, and its date', async () => {
  assert.deepEqual(await testClient(spur.url).latestFeed('anonymous'), {
    location: `${spur.url}/v2/anonymous/20260101/feed.json.gz`,
    date: '20260101',
  });
});

test('the fake server also answers the JSON endpoint', async () => {
  const res = await fetch(`${spur.url}/v2/anonymous/latest`, { headers: { Token: TOKEN } });
  const body = (await res.json()) as { json: { location: string; date: string } };
  assert.deepEqual([body.json.location, body.json.date], ['20260101/feed.json.gz', '20260101']);
  assert.equal((await fetch(`${spur.url}/v2/anonymous/latest`)).status, 401);
});

test('a file that is not a whole gzip stream is an incomplete download, retried, then refused', async () => {
  const client = testClient(spur.url, { attempts: 2 });
  const latest = await client.latestFeed('anonymous-residential');
  const seen = spur.requests.length;
  await assert.rejects(client.downloadFeed(latest.location, join(tempDir(), 'feed.json.gz')), (err: Error) => {
    assert.ok(err instanceof IncompleteDownloadError);
    assert.match(err.message, /not a complete gzip file: unexpected end of file/);
    return true;
  });
  assert.equal(spur.requests.length - seen, 2);
});

test('the token goes to the base URL only: a redirect to another origin is fetched without it', async () => {
  // A second server stands for a pre-signed storage URL: it needs no token.
  const storage = await startFakeSpur({ dir, token: null });
  const api = await startFakeSpur({ dir, token: TOKEN, fileOrigin: storage.url });
  try {
    const client = testClient(api.url);
    const latest = await client.latestFeed('anonymous');
    assert.ok(latest.location.startsWith(storage.url));
    const bytes = await client.downloadFeed(latest.location, join(tempDir(), 'feed.json.gz'));
    assert.ok(bytes > 0);
    assert.deepEqual(
      api.requests.map((r) => [r.status, r.token]),
      [[302, true]],
    );
    assert.deepEqual(
      storage.requests.map((r) => [r.status, r.token]),
      [[200, false]],
    );
  } finally {
    await Promise.all([api.close(), storage.close()]);
  }
});

test('a server that never answers times out on every request', async () => {
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const client = testClient(url, { attempts: 2, requestTimeoutMs: 200 });
  try {
    await assert.rejects(client.latestFeed('anonymous'), /latest\.json\.gz: The operation was aborted due to timeout/);
    await assert.rejects(client.downloadFeed(`${url}/feed.json.gz`, join(tempDir(), 'feed.json.gz')), /no response within 0\.2s/);
  } finally {
    silent.closeAllConnections();
    silent.close();
  }
});

test('an unreachable server fails after its attempts with the reason', async () => {
  const down = await startFakeSpur({ dir, token: TOKEN });
  await down.close();
  await assert.rejects(
    testClient(down.url, { attempts: 2 }).latestFeed('anonymous'),
    /cannot fetch http:\/\/127\.0\.0\.1:\d+\/v2\/anonymous\/latest\.json\.gz: fetch failed \(.*ECONNREFUSED/,
  );
});

test('every request names IPoid and its version in User-Agent', async () => {
  const server = await startFakeSpur({ dir, token: TOKEN });
  try {
    const client = testClient(server.url);
    await client.downloadFeed((await client.latestFeed('anonymous')).location, join(tempDir(), 'feed.json.gz'));
    assert.deepEqual(
      server.requests.map((r) => r.userAgent),
      [`ipoid/${VERSION}`, `ipoid/${VERSION}`],
    );
  } finally {
    await server.close();
  }
});

test('a 429 or 503 with Retry-After is retried after the time the server asked for, not the backoff', async () => {
  const inSeconds = (seconds: number) => () => new Date(Date.now() + seconds * 1000).toUTCString();
  for (const [failStatus, retryAfterText] of [
    [429, () => '1'],
    [503, inSeconds(1.5)],
  ] as const) {
    const retryAfter = retryAfterText();
    const server = await startFakeSpur({ dir, token: TOKEN, faults: { anonymous: { failFirst: 1, failStatus, retryAfter } } });
    try {
      // A backoff of 10 ms: only Retry-After explains a second try a second later.
      await testClient(server.url, { retryDelayMs: 10 }).latestFeed('anonymous');
      const [refused, retried] = server.requests;
      assert.deepEqual([refused?.status, retried?.status], [failStatus, 302]);
      // An HTTP-date has whole seconds: 1.5 s ahead may be read as a little more than 0.5 s.
      assert.ok(retried!.at - refused!.at >= 500, `retried ${Math.round(retried!.at - refused!.at)} ms later`);
    } finally {
      await server.close();
    }
  }
});

test('a Retry-After longer than the job waits fails at once, saying so', async () => {
  const server = await startFakeSpur({ dir, token: TOKEN, faults: { anonymous: { failFirst: 5, failStatus: 503, retryAfter: '7200' } } });
  try {
    await assert.rejects(
      testClient(server.url).latestFeed('anonymous'),
      /answered 503, asking to retry after 7200 s, longer than the 600 s this job waits/,
    );
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
  }
});

test('a status outside the retry policy is not retried', async () => {
  const server = await startFakeSpur({ dir, token: TOKEN, faults: { anonymous: { failFirst: 5, failStatus: 400 } } });
  try {
    await assert.rejects(testClient(server.url).latestFeed('anonymous'), /answered 400 instead of a redirect/);
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
  }
});
