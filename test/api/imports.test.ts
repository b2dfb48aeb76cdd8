import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { importFeed } from '../../src/import/importer.ts';
import { BAD_LINES, gzipToTemp, quietLogger } from '../helpers/fixtures.ts';
import { assertError, request, startApi, type TestApi } from '../helpers/http.ts';
import { forEachStore } from '../helpers/stores.ts';

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    // Runs: the sample feed (anonymous), a feed with bad lines (residential), a failed import.
    api = await startApi(target);
    await importFeed(api.store, BAD_LINES, {
      feed: 'anonymous-residential',
      feedDate: '2026-11-28',
      logger: quietLogger,
      maxSkippedRatio: 1,
    });
    const cut = gzipToTemp('{"ip":"192.0.2.1","risks":["TUNNEL"]}\n{"ip":"192.0.2.2","ri');
    await assert.rejects(importFeed(api.store, cut, { feed: 'anonymous', feedDate: '2026-11-29', logger: quietLogger }));
  });
  after(async () => api.close());

  const runs = async (query = '') => {
    const answer = await request(`${api.base}/feed/v1/imports${query}`);
    assert.equal(answer.status, 200, answer.text);
    return answer.json as { runs: Record<string, any>[]; next: string | null };
  };

  test('lists every run newest first, with what it changed, its skipped lines and its error', async () => {
    const { runs: listed, next } = await runs();
    assert.equal(next, null);
    assert.deepEqual(
      listed.map((r) => [r.feed, r.kind, r.status, r.inserted, r.skipped]),
      [
        ['anonymous', 'full', 'failed', 0, 0],
        ['anonymous-residential', 'full', 'succeeded', 2, 8],
        ['anonymous', 'full', 'succeeded', 10, 0],
      ],
    );
    const [failed, residential, sample] = listed;
    assert.match(failed!.error, /truncated/);
    assert.equal(residential!.feedDate, '2026-11-28');
    assert.equal(residential!.records, 2);
    assert.equal(residential!.skippedSample.length, 8);
    assert.deepEqual(Object.keys(residential!.skippedSample[0]).sort(), ['line', 'reason']);
    assert.equal(residential!.skippedSample[0].line, 2);
    assert.equal(sample!.error, null);
    for (const run of listed) {
      assert.equal(run.seconds, Math.round((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000));
      assert.equal(run.file, undefined, "a file's path is not shown");
    }
  });

  test('filters by feed, kind and status, and pages back through older runs', async () => {
    assert.deepEqual(
      (await runs('?feed=anonymous')).runs.map((r) => r.status),
      ['failed', 'succeeded'],
    );
    assert.deepEqual(
      (await runs('?status=succeeded&feed=anonymous-residential')).runs.map((r) => r.inserted),
      [2],
    );
    assert.deepEqual((await runs('?kind=realtime')).runs, []);

    const all = (await runs()).runs.map((r) => r.id);
    const seen: number[] = [];
    let query = '?limit=2';
    for (;;) {
      const page = await runs(query);
      seen.push(...page.runs.map((r) => r.id));
      if (page.next === null) break;
      query = `?limit=2&before=${page.next}`;
    }
    assert.deepEqual(seen, all);
  });

  test('refuses a bad filter with a 400 that says why', async () => {
    assertError(await request(`${api.base}/feed/v1/imports?limit=0`), 400, /limit/);
    assertError(await request(`${api.base}/feed/v1/imports?feed=other`), 400, /feed/);
    assertError(await request(`${api.base}/feed/v1/imports?before=-1`), 400, /before/);
    assertError(await request(`${api.base}/feed/v1/imports?since=2026-01-01`), 400, /since/);
  });
});
