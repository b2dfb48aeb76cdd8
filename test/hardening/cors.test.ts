import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadApiConfig } from '../../src/api/config.ts';
import { assertError, request, serve, startApi, type Answer, type TestApi } from '../helpers/http.ts';
import { forEachStore } from '../helpers/stores.ts';

const ALLOWED = 'https://tools.example.org';
const OTHER = 'https://elsewhere.example';
const TOKEN = 'cors-token';

const preflight = (origin: string, method = 'POST') => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' },
});

function assertNoCors(answer: Answer): void {
  const cors = [...answer.headers.keys()].filter((name) => name.startsWith('access-control-'));
  assert.deepEqual(cors, [], `no CORS headers (status ${answer.status})`);
}

describe('IPOID_CORS_ORIGINS', () => {
  test('unset: no origin; set: the listed origins, trimmed', () => {
    assert.deepEqual(loadApiConfig({}).corsOrigins, []);
    assert.deepEqual(loadApiConfig({ IPOID_CORS_ORIGINS: ` ${ALLOWED} , http://127.0.0.1:3000,` }).corsOrigins, [
      ALLOWED,
      'http://127.0.0.1:3000',
    ]);
  });

  test('anything but exact origins is refused: no wildcard, path, trailing slash or default port', () => {
    for (const value of [
      '*',
      'https://*.example.org',
      'tools.example.org',
      `${ALLOWED}/`,
      `${ALLOWED}/path`,
      'https://tools.example.org:443',
      'null',
      'HTTPS://Tools.example.org',
      'ftp://tools.example.org',
    ]) {
      assert.throws(
        () => loadApiConfig({ IPOID_CORS_ORIGINS: value }),
        /^Error: IPOID_CORS_ORIGINS must list origins like https:\/\/tools\.example\.org/,
        value,
      );
    }
  });
});

forEachStore((target) => {
  describe('CORS', () => {
    let api: TestApi;
    let cors: { app: FastifyInstance; base: string };
    let corsWithTokens: { app: FastifyInstance; base: string };
    before(async () => {
      api = await startApi(target);
      cors = await serve(api.store, [], { corsOrigins: [ALLOWED, 'http://127.0.0.1:3000'] });
      corsWithTokens = await serve(api.store, [TOKEN], { corsOrigins: [ALLOWED] });
    });
    after(async () => {
      await cors.app.close();
      await corsWithTokens.app.close();
      await api.close();
    });

    test('is off unless configured: no CORS headers, and a preflight is an unknown route', async () => {
      const answer = await request(`${api.base}/feed/v1/ip/1.1.1.1`, { headers: { origin: ALLOWED } });
      assert.equal(answer.status, 200);
      assertNoCors(answer);
      const refused = await request(`${api.base}/feed/v1/ips`, preflight(ALLOWED));
      assertError(refused, 404);
      assertNoCors(refused);
    });

    test('an allowed origin reads answers and errors; it is echoed, never a wildcard', async () => {
      for (const path of ['/feed/v1/ip/1.1.1.1', '/feed/v1/ip/8.8.8.8', '/feed/v1/ip/garbage']) {
        const answer = await request(`${cors.base}${path}`, { headers: { origin: ALLOWED } });
        assert.equal(answer.headers.get('access-control-allow-origin'), ALLOWED, path);
        assert.match(answer.headers.get('vary') ?? '', /\borigin\b/i);
        assert.equal(answer.headers.get('access-control-allow-credentials'), null);
      }
      const page = await request(`${cors.base}/feed/v1/ips?limit=1`, { headers: { origin: 'http://127.0.0.1:3000' } });
      assert.equal(page.headers.get('access-control-allow-origin'), 'http://127.0.0.1:3000');
      assert.equal(page.headers.get('access-control-expose-headers'), 'link', 'the next page link is readable');
    });

    test('another origin, or none, gets no CORS headers but the same answer', async () => {
      const origins: Record<string, string>[] = [{ origin: OTHER }, { origin: `${ALLOWED}.evil.example` }, { origin: 'null' }, {}];
      for (const headers of origins) {
        const answer = await request(`${cors.base}/feed/v1/ip/1.1.1.1`, { headers });
        assert.equal(answer.status, 200);
        assert.equal(answer.headers.get('access-control-allow-origin'), null, JSON.stringify(headers));
      }
    });

    test('a preflight from an allowed origin is answered; from another it is not', async () => {
      const allowed = await request(`${cors.base}/feed/v1/ips`, preflight(ALLOWED));
      assert.equal(allowed.status, 204);
      assert.equal(allowed.headers.get('access-control-allow-origin'), ALLOWED);
      assert.deepEqual(allowed.headers.get('access-control-allow-methods')?.split(/, */), ['GET', 'HEAD', 'POST']);
      assert.deepEqual(allowed.headers.get('access-control-allow-headers')?.split(/, */), ['authorization', 'content-type', 'accept']);
      const other = await request(`${cors.base}/feed/v1/ips`, preflight(OTHER));
      assertError(other, 404);
      assertNoCors(other);
    });

    test('with tokens, a preflight needs none, the request itself does, and its 401 is readable', async () => {
      const allowed = await request(`${corsWithTokens.base}/feed/v1/ip/1.1.1.1`, preflight(ALLOWED, 'GET'));
      assert.equal(allowed.status, 204);
      assert.equal(allowed.headers.get('access-control-allow-origin'), ALLOWED);

      const refused = await request(`${corsWithTokens.base}/feed/v1/ip/1.1.1.1`, { headers: { origin: ALLOWED } });
      assertError(refused, 401);
      assert.equal(refused.headers.get('access-control-allow-origin'), ALLOWED);

      const answered = await request(`${corsWithTokens.base}/feed/v1/ip/1.1.1.1`, {
        headers: { origin: ALLOWED, authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(answered.status, 200);
      assert.equal(answered.headers.get('access-control-allow-origin'), ALLOWED);

      const other = await request(`${corsWithTokens.base}/feed/v1/ip/1.1.1.1`, preflight(OTHER, 'GET'));
      assertError(other, 401);
      assertNoCors(other);
    });
  });
});
