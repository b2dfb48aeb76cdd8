import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { importFeed } from '../../src/import/importer.ts';
import { jsonLinesFeed, quietLogger } from '../helpers/fixtures.ts';
import { request, startApi, type TestApi } from '../helpers/http.ts';
import { forEachStore } from '../helpers/stores.ts';

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(target);
  });
  after(async () => api.close());

  test('data answers name the feed date and time of the data; lists answer 304 to a client that has them', async () => {
    const lookup = await request(`${api.base}/feed/v1/ip/1.1.1.1`);
    assert.equal(lookup.status, 200);
    // Privileged data that changes with each import: no shared cache, and a browser revalidates.
    assert.equal(lookup.headers.get('cache-control'), 'private, no-cache');
    const [run] = await api.store.importRuns({ limit: 1 });
    assert.equal(lookup.headers.get('x-ipoid-feed-date'), run!.dataDate);
    assert.equal(lookup.headers.get('last-modified'), run!.finishedAt.toUTCString());

    const list = await request(`${api.base}/feed/v1/ips?limit=5`);
    assert.equal(list.headers.get('cache-control'), 'private, no-cache');
    const etag = list.headers.get('etag');
    assert.match(etag ?? '', /^W\/".+"$/);
    const again = await request(`${api.base}/feed/v1/ips?limit=5`, { headers: { 'if-none-match': etag! } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    const since = await request(`${api.base}/feed/v1/ips?format=ndjson`, {
      headers: { 'if-modified-since': list.headers.get('last-modified')! },
    });
    assert.equal(since.status, 304);
    const csv = await request(`${api.base}/feed/v1/ips`, { headers: { accept: 'text/csv', 'if-none-match': etag! } });
    assert.equal(csv.status, 200, 'another format is another representation');
    assert.notEqual(csv.headers.get('etag'), etag);
  });

  test('after the next import the old ETag no longer matches', async () => {
    const first = await request(`${api.base}/feed/v1/ips`);
    const etag = first.headers.get('etag')!;
    await importFeed(api.store, jsonLinesFeed([{ ip: '192.0.2.9', risks: ['SPAM'] }]), {
      feed: 'anonymous-residential',
      feedDate: '2026-11-29',
      logger: quietLogger,
    });
    // Answers read the data's version at most once a second.
    const deadline = Date.now() + 30_000;
    let answer = await request(`${api.base}/feed/v1/ips`, { headers: { 'if-none-match': etag } });
    while (answer.status === 304 && Date.now() < deadline) {
      await delay(200);
      answer = await request(`${api.base}/feed/v1/ips`, { headers: { 'if-none-match': etag } });
    }
    assert.equal(answer.status, 200);
    assert.notEqual(answer.headers.get('etag'), etag);
    const newest = (await api.store.feedStatus())
      .flatMap((s) => (s.lastImport ? [s.lastImport.dataDate] : []))
      .sort()
      .at(-1);
    assert.equal(answer.headers.get('x-ipoid-feed-date'), newest);
  });
});
