import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildConsole } from '../helpers/browser.ts';
import { quietLogger, SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';
import { assertError, request, serve } from '../helpers/http.ts';
import { freshStore, STORE_TARGETS } from '../helpers/stores.ts';
import { importFeed } from '../../src/import/importer.ts';

// The console's files as the server serves them; the pages themselves are tested in Chromium (test/ui).
describe('the web console at /ui/', () => {
  let app: FastifyInstance;
  let base: string;
  let close: () => Promise<void>;
  before(async () => {
    const fresh = await freshStore(STORE_TARGETS[0]!);
    close = fresh.close;
    await importFeed(fresh.store, SAMPLE_FEED, { feed: 'anonymous', logger: quietLogger });
    ({ app, base } = await serve(fresh.store, ['a-token'], { consoleDir: await buildConsole() }));
  });
  after(async () => {
    await app.close();
    await close();
  });

  test('the page and its assets come from IPoid, cached by content hash, with no external resource', async () => {
    const page = await request(`${base}/ui/`);
    assert.equal(page.status, 200, 'served without a token: the files hold no data');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    // The whole policy: a directive added later (an inline script, another origin) must be seen here.
    assert.equal(
      page.headers.get('content-security-policy'),
      "default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 2);
    for (const asset of assets.filter((a) => !a.startsWith('data:'))) {
      assert.match(asset, /^\/ui\/assets\/index-[\w-]{8}\.(js|css)$/, `${asset} is IPoid's own, named by its hash`);
      const answer = await request(`${base}${asset}`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    }
    assert.equal((await request(`${base}/ui`, { redirect: 'manual' })).headers.get('location'), '/ui/');
  });
});

test('a server whose console is not built says how to build it', async () => {
  const fresh = await freshStore(STORE_TARGETS[0]!);
  const { app, base } = await serve(fresh.store, [], { consoleDir: tempDir() });
  try {
    assertError(await request(`${base}/ui/`), 404, /the web console is not built: run `npm run build`/);
  } finally {
    await app.close();
    await fresh.close();
  }
});
