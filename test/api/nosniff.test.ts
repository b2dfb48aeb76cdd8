import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { forEachStore } from '../helpers/stores.ts';
import { parseRawAnswers, rawExchange, request, startApi, type Answer, type TestApi } from '../helpers/http.ts';

const assertNoSniff = (answer: Answer, what: string): void =>
  assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', `${what} (${answer.status})`);

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(target, { tokens: ['secret-token'] });
  });
  after(async () => api.close());

  const authorized = { authorization: 'Bearer secret-token' };

  test('every fastify answer carries X-Content-Type-Options: nosniff: success, error, 401, 404, streams', async () => {
    const get = (path: string, headers: Record<string, string> = authorized) => request(`${api.base}${path}`, { headers });
    const answers: [string, Answer, number][] = [
      ['lookup', await get('/feed/v1/ip/1.1.1.1'), 200],
      ['unknown address', await get('/feed/v1/ip/8.8.8.8'), 404],
      ['not an address', await get('/feed/v1/ip/nope'), 400],
      ['context', await get('/v2/context/1.1.1.1'), 200],
      ['ndjson stream', await get('/feed/v1/ips?format=ndjson'), 200],
      ['csv stream', await get('/feed/v1/ips?format=csv'), 200],
      ['list page', await get('/feed/v1/ips'), 200],
      ['no route', await get('/no/such/route'), 404],
      ['bad percent-encoding', await get('/feed/v1/ip/%C0%AF'), 400],
      ['no token', await get('/feed/v1/ip/1.1.1.1', {}), 401],
      ['health', await get('/healthz', {}), 200],
      ['openapi', await get('/openapi.json'), 200],
      ['batch', await request(`${api.base}/feed/v1/ips`, { method: 'POST', headers: authorized, body: { ips: ['1.1.1.1'] } }), 200],
      [
        'batch body not JSON',
        await request(`${api.base}/feed/v1/ips`, {
          method: 'POST',
          headers: { ...authorized, 'content-type': 'application/json' },
          body: '{',
        }),
        400,
      ],
    ];
    for (const [what, answer, status] of answers) {
      assert.equal(answer.status, status, `${what}: ${answer.text.slice(0, 200)}`);
      assertNoSniff(answer, what);
    }
  });

  test('answers written straight to the socket carry it too', async () => {
    for (const [what, raw, status] of [
      ['broken request line', 'GARBAGE\r\n\r\n', 400],
      ['header overflow', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`, 431],
      ['unknown expectation', 'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\n\r\n', 417],
      ['CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', 405],
      ['no Host', 'GET /healthz HTTP/1.1\r\n\r\n', 400],
    ] as const) {
      const [answer, ...more] = parseRawAnswers(await rawExchange(api.base, raw, 5000));
      assert.deepEqual(more, []);
      assert.equal(answer?.status, status, what);
      assertNoSniff(answer, what);
    }
  });
});
