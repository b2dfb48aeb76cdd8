import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { LABEL_FILTERS_MAX } from '../../src/api/schemas.ts';
import { assertError, parseRawAnswers, rawExchange, request, startApi, type Answer, type TestApi } from '../helpers/http.ts';
import { scaled, SOAK } from '../helpers/scale.ts';
import { forEachStore } from '../helpers/stores.ts';

// Slower than this on an idle server is a hang: a lookup takes well under a millisecond.
const DEADLINE_MS = 2000;
// Repeatable in CI; the soak explores new inputs each time (the seed is printed to replay it).
const SEED = SOAK ? Date.now() % 2 ** 31 : 20261125;
const RUNS = scaled(250, 10_000);
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

/** The part of JSON Schema the OpenAPI document uses. */
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
}

/** A route of the OpenAPI document, so that a new route is fuzzed without touching this file. */
interface Route {
  method: string;
  template: string;
  query: { name: string; schema: Schema }[];
  body?: Schema;
}

async function documentedRoutes(base: string): Promise<Route[]> {
  type Operation = {
    parameters?: { in: string; name: string; schema: Schema }[];
    requestBody?: { content: Record<string, { schema: Schema }> };
  };
  const doc = (await request(`${base}/openapi.json`)).json as { paths: Record<string, Record<string, Operation>> };
  return Object.entries(doc.paths).flatMap(([template, operations]) =>
    Object.entries(operations).map(([method, op]) => ({
      method: method.toUpperCase(),
      template,
      query: (op.parameters ?? []).filter((p) => p.in === 'query'),
      body: op.requestBody?.content['application/json']?.schema,
    })),
  );
}

const fill = (template: string, segment: string): string => template.replace(/\{[^}]+\}/g, segment);

// --- generators --------------------------------------------------------------------------

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));
// Overlong, lone surrogate, beyond U+10FFFF, truncated, not hex, encoded separators.
const BAD_ESCAPES = [
  '%C0%AF',
  '%FF',
  '%ED%A0%80',
  '%F4%90%80%80',
  '%C3%28',
  '%E2%82',
  '%',
  '%2',
  '%G0',
  '%%',
  '%00',
  '%0A',
  '%2F',
  '%5C',
  '%2e%2e',
  '..',
  '.',
  '%25',
  '%u0041',
  '%EF%BB%BF',
];
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  loneSurrogate,
  fc.string({ minLength: 95, maxLength: 105 }),
);
const ipLike = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.constantFrom(
    '1.1.1.1',
    '2001:DB8:AAAA:1::5',
    '::ffff:1.1.1.1',
    '001.001.001.001',
    ' 1.1.1.1',
    '1.1.1.1/32',
    '2001:db8::/32',
    'fe80::1%eth0',
    '[::1]',
    '1.1.1.256',
    '::',
    '1.1.1',
    '1e0.1.1.1',
  ),
);
const cidr = fc
  .oneof(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })), fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 140 })))
  .map(([address, length]) => `${address}/${length}`);
// Well-formed cursors with arbitrary keys reach the database.
const cursor = fc.uint8Array({ minLength: 18, maxLength: 18 }).map((b) => Buffer.from(b).toString('base64url'));
// Values the sample feed holds, so that filters reach the store and match.
const label = fc.constantFrom('TUNNEL', 'CALLBACK_PROXY', 'NORD_VPN', 'VPN', 'DESKTOP', 'OPENVPN', 'DATACENTER', 'US', 'SOME_FUTURE_RISK');
const plausible = fc.oneof({ weight: 3, arbitrary: ipLike }, cidr, cursor, { weight: 2, arbitrary: label }, text);

// As UTF-8 carries text: a lone surrogate becomes U+FFFD (encodeURIComponent would throw).
const urlEscape = (s: string): string => encodeURIComponent(Buffer.from(s).toString());
const percentBytes = bytes(12).map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join(''));
/** Text as it may appear in a URL: escaped, raw (fetch escapes what it must), or broken escapes. */
const urlText = fc.oneof(
  ipLike,
  fc.oneof(ipLike, fc.string({ unit: 'binary', maxLength: 20 })).map(urlEscape),
  text,
  percentBytes,
  fc.array(fc.oneof(fc.constantFrom(...BAD_ESCAPES), ipLike, fc.string({ maxLength: 4 })), { maxLength: 6 }).map((p) => p.join('')),
  fc.integer({ min: 100, max: 12_000 }).map((n) => 'a'.repeat(n)),
);

const json = fc.jsonValue({ maxDepth: 4 });

/**
 * Values a schema describes, and values just past its limits: arrays longer than maxItems
 * (a batch over 1,000), numbers out of range, strings over maxLength.
 */
function fromSchema(schema: Schema): fc.Arbitrary<unknown> {
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map(fromSchema));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'object':
      return fc.record(Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, s]) => [key, fromSchema(s)])));
    case 'array': {
      const items = fromSchema(schema.items ?? {});
      const max = schema.maxItems ?? 20;
      const over = fc.integer({ min: max, max: max + 300 }).chain((n) => fc.array(items, { minLength: n, maxLength: n }));
      return fc.oneof({ weight: 5, arbitrary: fc.array(items, { minLength: schema.minItems ?? 0, maxLength: Math.min(max, 30) }) }, over);
    }
    case 'integer':
    case 'number': {
      const [min, max] = [schema.minimum ?? -1e9, schema.maximum ?? 1e9];
      return fc.oneof({ weight: 3, arbitrary: fc.integer({ min, max }) }, fc.constantFrom(min - 1, max + 1, 1.5, -0), fc.double());
    }
    case 'string': {
      const max = schema.maxLength ?? 1000;
      return fc.oneof(
        { weight: 5, arbitrary: plausible },
        fc.integer({ min: max + 1, max: max + 100 }).map((n) => '1'.repeat(n)),
      );
    }
    default:
      return json;
  }
}

const queryValue = fc.oneof(
  urlText,
  fc.constantFrom('', 'true', 'null', '[]', '{}', '-1', '0', '1001', '1e3', '0x10', '1.5', 'NaN', 'JSON'),
  fc.string({ minLength: 1000, maxLength: 4000 }).map(urlEscape),
);
const STRANGE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'limit[]', 'risk[0]', 'a.b'];
/** `name=value` pairs for a documented parameter; several for an array parameter. */
const parameter = ({ name, schema }: Route['query'][number]) =>
  fromSchema(schema).map((value) => (Array.isArray(value) ? value : [value]).map((v) => `${name}=${urlEscape(String(v))}`));
const strangeParameter = fc
  .tuple(
    fc.oneof(fc.constantFrom(...STRANGE_KEYS), urlText),
    fc.option(queryValue),
    fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, fc.integer({ min: 2, max: 25 })),
  )
  .map(([key, value, times]) => Array<string>(times).fill(value === null ? key : `${key}=${value}`));
/** A query string of documented and unknown parameters, some repeated, some without a value. */
const queryString = (route: Route) =>
  fc
    .array(fc.oneof(...route.query.map((p) => ({ weight: 3, arbitrary: parameter(p) })), strangeParameter), { maxLength: 4 })
    .map((pairs) => pairs.flat().join('&'));
const accept = fc.option(
  fc.constantFrom('application/x-ndjson', 'text/csv', 'text/html', '*/*', 'application/json;q=0', 'text/csv, application/x-ndjson', ''),
);

// Nested up to and past the body limit (256 KiB).
const deepJson = fc
  .tuple(fc.constantFrom('[', '{"a":', '{"ips":', '{"query":'), fc.integer({ min: 1, max: 140_000 }))
  .map(([open, depth]) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`);
const hugeString = fc.integer({ min: 1000, max: 400_000 }).map((n) => `{"ips":["${'9'.repeat(n)}"]}`);
const duplicateKeys = fc
  .tuple(fc.constantFrom('ips', 'query'), json, json)
  .map(([key, first, second]) => `{"${key}":${JSON.stringify(first)},"${key}":${JSON.stringify(second)}}`);
const prototypeKeys = fc.constantFrom(
  '{"__proto__":{"ips":[]}}',
  '{"ips":["1.1.1.1"],"constructor":{"prototype":{"x":1}}}',
  '{"query":{"term":{"ip":"1.1.1.1","__proto__":{"x":1}}}}',
);
const notJson = fc.oneof(
  fc.string(),
  fc.constantFrom('', ' ', '{', '{"ips":', '[1,]', 'NaN', "{'ips':[]}", '{"ips":["1.1.1.1"]} trailing', '\uFEFF{"ips":[]}'),
);
const invalidUtf8 = fc
  .tuple(
    fc.constantFrom('{"ips":["', '{"query":{"term":{"ip":"', ''),
    fc.constantFrom([0xc0, 0xaf], [0xff], [0xed, 0xa0, 0x80], [0xe2, 0x82]),
    bytes(10),
  )
  .map(([head, bad, tail]) => Buffer.concat([Buffer.from(head), Buffer.from(bad), tail, Buffer.from('"]}')]));
/** A body for `route`: mostly what its schema describes, else wrong types, deep, huge, not JSON. */
const bodyFor = (route: Route) =>
  fc.oneof(
    ...(route.body ? [{ weight: 8, arbitrary: fromSchema(route.body).map((v) => JSON.stringify(v)) }] : []),
    json.map((v) => JSON.stringify(v)),
    deepJson,
    hugeString,
    duplicateKeys,
    prototypeKeys,
    notJson,
    invalidUtf8,
    bytes(64),
  );
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    undefined,
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/json; charset=utf-16',
    'application/json; charset=',
    'application/json;;',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    'application/jsonx',
    'application/problem+json',
    '*/*',
    ';',
  ),
  fc.string({ maxLength: 40 }),
);

// --- raw requests fetch cannot send ------------------------------------------------------

const HEADER_LINES = [
  'Content-Type: application/json',
  'Accept: text/csv',
  'Expect: 100-continue',
  'Expect: bogus',
  'Upgrade: websocket',
  'Connection: upgrade',
  'Host: second',
  'Origin: https://elsewhere.example',
  'Authorization: Bearer x',
  ' leading-space: x',
  'no-colon',
  'Bad Name: x',
  'X: \x00',
  'X: \xff\xfe',
];
const rawRequest = (routes: Route[]) =>
  fc
    .record({
      method: fc.oneof(fc.constantFrom(...METHODS, 'get', 'CONNECT', 'PRI', 'TRACE', 'PROPFIND', ''), bytes(8)),
      target: fc.oneof(
        fc.constantFrom(...routes).map((r) => fill(r.template, '1.1.1.1')),
        urlText.map((t) => `/feed/v1/ip/${t}`),
        fc.constantFrom('*', '/', 'http://x/healthz', '//', '/%', '/a b', '/\xc0\xaf', '/\xed\xa0\x80', ''),
        bytes(60),
      ),
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.1 ', 'http/1.1', 'HTTP/1.', ''),
      host: fc.boolean(),
      headers: fc.array(fc.oneof(fc.constantFrom(...HEADER_LINES), bytes(40)), { maxLength: 4 }),
      body: fc.option(
        fc.oneof(
          json.map((v) => JSON.stringify(v)),
          bytes(40).map((b) => b.toString('latin1')),
        ),
      ),
    })
    .map(({ method, target, version, host, headers, body }) => {
      const line = (part: string | Buffer) => (typeof part === 'string' ? part : part.toString('latin1'));
      const head = [
        `${line(method)} ${line(target)} ${version}`,
        ...(host ? ['Host: fuzz'] : []),
        'Connection: close',
        ...headers.map(line),
        ...(body === null ? [] : [`Content-Length: ${Buffer.byteLength(body, 'latin1')}`]),
      ];
      return `${head.join('\r\n')}\r\n\r\n${body ?? ''}`;
    });

/** Raw requests with the status each must answer, in the one error shape. */
const RAW_CASES: [name: string, bytes: string, status: number][] = [
  ['invalid UTF-8 in the path', 'GET /feed/v1/ip/\xc0\xaf HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['a UTF-8 lone surrogate in the path', 'GET /feed/v1/ip/\xed\xa0\x80 HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['a URL over the header limit', `GET /feed/v1/ip/${'1'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
  ['a huge header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`, 431],
  ['many headers', `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-Many: a\r\n'.repeat(3000)}\r\n`, 431],
  ['not HTTP', 'GARBAGE\r\n\r\n', 400],
  ['binary', '\x00\x01\x02\xff\r\n\r\n', 400],
  ['an unknown version', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n', 400],
  ['a lower-case method', 'get /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['a header without a colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBroken\r\n\r\n', 400],
  ['a space before the colon', 'GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n', 400],
  ['no Host', 'GET /healthz HTTP/1.1\r\n\r\n', 400],
  ['an unknown expectation', 'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\n\r\n', 417],
  ['CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', 405],
  [
    'Content-Length and chunked',
    'POST /feed/v1/ips HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  ['two Content-Lengths', 'POST /feed/v1/ips HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n{}}', 400],
  ['a negative Content-Length', 'POST /feed/v1/ips HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400],
  [
    'a bad chunk size',
    'POST /feed/v1/ips HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    400,
  ],
  ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
];

/** Whether the list route takes these `param=value` filters: as many values as allowed, per parameter and in all. */
function withinLimit(pairs: string[]): boolean {
  const perParam = new Map<string, number>();
  for (const [param] of pairs.map((p) => p.split('='))) perParam.set(param!, (perParam.get(param!) ?? 0) + 1);
  return new Set(pairs).size <= LABEL_FILTERS_MAX && Math.max(0, ...perParam.values()) <= LABEL_FILTERS_MAX;
}

// --- assertions --------------------------------------------------------------------------

/** Never a 5xx; JSON that parses; an error in the one error shape, with a reason and no stack trace. */
function assertSafe(answer: Answer, method: string): void {
  assert.ok(answer.status < 500, `${answer.status}: ${answer.text.slice(0, 500)}`);
  if (method === 'HEAD' || answer.status === 204) return;
  if (answer.status < 400) {
    if (/^application\/json/.test(answer.headers.get('content-type') ?? ''))
      assert.notEqual(answer.json, undefined, answer.text.slice(0, 500));
    return;
  }
  assertError(answer, answer.status);
  assert.notEqual(answer.json.message, '', 'a reason');
}

forEachStore((target) => {
  describe('the HTTP API under generated input', () => {
    let api: TestApi;
    let routes: Route[];
    let healthy: Answer;
    let sent = 0;
    before(async () => {
      api = await startApi(target);
      routes = await documentedRoutes(api.base);
      healthy = await request(`${api.base}/feed/v1/ip/1.1.1.1`);
      assert.equal(healthy.status, 200);
    });
    after(async () => api.close());

    /** One request within the deadline, checked. */
    async function send(method: string, path: string, init: { headers?: Record<string, string>; body?: string | Uint8Array } = {}) {
      sent++;
      const answer = await request(`${api.base}${path}`, { method, ...init, signal: AbortSignal.timeout(DEADLINE_MS) });
      assertSafe(answer, method);
      return answer;
    }

    /** Runs a property, then checks that the server still answers a known address as before. */
    async function fuzz(t: TestContext, property: fc.IAsyncProperty<any>): Promise<void> {
      const [before, started] = [sent, performance.now()];
      await fc.assert(property, { seed: SEED, numRuns: RUNS, includeErrorInReport: true });
      t.diagnostic(`seed ${SEED}: ${sent - before} requests in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      const after = await request(`${api.base}/feed/v1/ip/1.1.1.1`, { signal: AbortSignal.timeout(DEADLINE_MS) });
      assert.equal(after.status, 200);
      assert.deepEqual(after.json, healthy.json);
    }

    test('every route in the OpenAPI document is fuzzed', () => {
      assert.ok(routes.length >= 11, routes.map((r) => `${r.method} ${r.template}`).join(', '));
      assert.ok(
        routes.some((r) => r.template.includes('{')),
        'path parameters are substituted',
      );
    });

    test('generated path segments, on every route and method', async (t) => {
      const path = fc
        .tuple(fc.constantFrom(...routes), urlText, fc.option(urlText, { freq: 3 }))
        .map(([route, segment, extra]) => [route, fill(route.template, segment) + (extra === null ? '' : `/${extra}`)] as const);
      const method = fc.option(fc.constantFrom(...METHODS), { freq: 4 });
      await fuzz(
        t,
        fc.asyncProperty(path, method, async ([route, p], other) => {
          const m = other ?? route.method;
          await send(
            m,
            p,
            m === 'POST' || m === 'PUT' || m === 'PATCH' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {},
          );
        }),
      );
    });

    test('generated query strings: unknown, repeated, huge and mistyped parameters', async (t) => {
      const segment = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('1.1.1.1', '2001:db8:aaaa:1::5', '8.8.8.8') }, urlText);
      const withQuery = routes.filter((r) => r.query.length > 0);
      const call = fc
        .oneof({ weight: 4, arbitrary: fc.constantFrom(...withQuery) }, fc.constantFrom(...routes))
        .chain((route) =>
          fc.tuple(fc.constant(route), segment, queryString(route), accept, route.body ? fromSchema(route.body) : fc.constant(undefined)),
        );
      await fuzz(
        t,
        fc.asyncProperty(call, async ([route, segment, query, type, body]) => {
          const headers = {
            ...(type === null ? {} : { accept: type }),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          };
          await send(route.method, `${fill(route.template, segment)}?${query}`, {
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
          });
        }),
      );
    });

    test('generated label filters: every stored label, up to and past the limit', async (t) => {
      // Each label is a join in the store: many of them must be refused, not left to the database.
      const counts = (await request(`${api.base}/feed/v1/labels`)).json as Record<string, { value: string }[]>;
      const stored = Object.entries(counts).flatMap(([param, values]) => values.map(({ value }) => `${param}=${urlEscape(value)}`));
      const filters = fc.array(fc.constantFrom(...stored), { maxLength: LABEL_FILTERS_MAX + 8 });
      await fuzz(
        t,
        fc.asyncProperty(filters, fc.constantFrom('', '&format=ndjson', '&limit=1'), async (pairs, rest) => {
          const answer = await send('GET', `/feed/v1/ips?${pairs.join('&')}${rest}`);
          assert.equal(answer.status, withinLimit(pairs) ? 200 : 400, answer.text);
        }),
      );
    });

    test('generated bodies: wrong types, deep, huge, oversize batches, not JSON, wrong content types', async (t) => {
      const withBody = routes.filter((r) => r.body !== undefined);
      const call = fc
        .oneof({ weight: 4, arbitrary: fc.constantFrom(...withBody) }, fc.constantFrom(...routes))
        .chain((route) =>
          fc.tuple(
            fc.constant(route),
            route.method === 'GET' ? fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE') : fc.constant(route.method),
            bodyFor(route),
            contentType,
          ),
        );
      await fuzz(
        t,
        fc.asyncProperty(call, async ([route, method, body, type]) => {
          await send(method, fill(route.template, '1.1.1.1'), { headers: type === undefined ? {} : { 'content-type': type }, body });
        }),
      );
    });

    test('generated raw requests: broken request lines, headers and framing', async (t) => {
      await fuzz(
        t,
        fc.asyncProperty(rawRequest(routes), async (raw) => {
          sent++;
          const answers = parseRawAnswers(await rawExchange(api.base, raw, DEADLINE_MS));
          assert.equal(answers.length, 1, `one answer to ${JSON.stringify(raw.slice(0, 200))}`);
          assertSafe(answers[0]!, raw.startsWith('HEAD ') ? 'HEAD' : 'GET');
        }),
      );
    });

    for (const [name, raw, status] of RAW_CASES) {
      test(`raw request: ${name} answers ${status} in JSON`, async () => {
        const [answer, ...more] = parseRawAnswers(await rawExchange(api.base, raw, DEADLINE_MS));
        assert.deepEqual(more, []);
        assert.equal(answer?.status, status, answer?.text);
        assertSafe(answer, 'GET');
      });
    }

    test('bytes beyond Content-Length are the next request: answered, then refused', async () => {
      const raw =
        'POST /feed/v1/ips HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n{"ips":["1.1.1.1"]}  GARBAGE\r\n\r\n';
      const [first, second, ...more] = parseRawAnswers(await rawExchange(api.base, raw, DEADLINE_MS));
      assert.equal(first?.status, 200);
      assert.deepEqual(first?.json, { '1.1.1.1': healthy.json['1.1.1.1'] });
      assertError(second!, 400);
      assert.deepEqual(more, []);
    });

    test('pipelined requests before a broken one are all answered first, in order', async () => {
      const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
      const raw = `${get('/feed/v1/ips?format=ndjson')}${get('/feed/v1/ip/1.1.1.1')}${get('/feed/v1/ips?format=csv')}GARBAGE\r\n\r\n`;
      const answers = parseRawAnswers(await rawExchange(api.base, raw, DEADLINE_MS));
      assert.deepEqual(
        answers.map((a) => [a.status, a.headers.get('content-type')]),
        [
          [200, 'application/x-ndjson'],
          [200, 'application/json; charset=utf-8'],
          [200, 'text/csv; charset=utf-8'],
          [400, 'application/json; charset=utf-8'],
        ],
      );
      assert.deepEqual(answers[1]!.json, healthy.json);
      assertError(answers[3]!, 400, /^malformed HTTP request: Invalid method/);
    });
  });
});
