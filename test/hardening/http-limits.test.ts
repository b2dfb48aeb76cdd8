import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_KEEP_ALIVE_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, loadApiConfig } from '../../src/api/config.ts';
import { assertError, parseRawAnswers, rawConnect, rawReceive, request, serve, startApi, type TestApi } from '../helpers/http.ts';
import { scaled } from '../helpers/scale.ts';
import { forEachStore } from '../helpers/stores.ts';

const TIMEOUT_MS = 300;
// Node looks for expired requests every tenth of the timeout; the rest is a busy 2-core machine.
// Generous, yet far below the 10 s default: a timeout that was not applied still fails.
const SLACK_MS = 4000;
const NODE_KEEP_ALIVE_BUFFER_MS = 1000;
const SLOW_CLIENTS = scaled(20, 200);

/** Writes `bytes` `size` at a time, `everyMs` apart, until done or the server closes the socket. */
function trickle(socket: Socket, bytes: string, everyMs: number, size = 1): void {
  let next = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || next >= bytes.length) return clearInterval(timer);
    socket.write(bytes.slice(next, (next += size)));
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

/** Connects, lets `start` misbehave, and answers what the server sent and when it closed. */
async function cutOff(base: string, start: (socket: Socket) => void): Promise<{ raw: Buffer; ms: number }> {
  const started = performance.now();
  const socket = await rawConnect(base);
  const received = rawReceive(socket, TIMEOUT_MS + NODE_KEEP_ALIVE_BUFFER_MS + SLACK_MS + 1000);
  start(socket);
  const raw = await received;
  return { raw, ms: performance.now() - started };
}

function assertTimedOut({ raw, ms }: { raw: Buffer; ms: number }): void {
  const [answer, ...more] = parseRawAnswers(raw);
  assertError(answer!, 408, new RegExp(`not received within ${TIMEOUT_MS} ms`));
  assert.deepEqual(more, []);
  assert.ok(ms >= TIMEOUT_MS - 20 && ms < TIMEOUT_MS + SLACK_MS, `cut off after ${ms.toFixed(0)} ms`);
}

describe('timeout settings', () => {
  test('default to 10 s per request and 72 s of keep-alive; IPOID_* variables change them', () => {
    const defaults = loadApiConfig({});
    assert.equal(defaults.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
    assert.equal(defaults.keepAliveTimeoutMs, DEFAULT_KEEP_ALIVE_TIMEOUT_MS);
    const set = loadApiConfig({ IPOID_REQUEST_TIMEOUT_MS: '2500', IPOID_KEEP_ALIVE_TIMEOUT_MS: '65000' });
    assert.equal(set.requestTimeoutMs, 2500);
    assert.equal(set.keepAliveTimeoutMs, 65000);
  });

  test('anything but a whole number of milliseconds within a timer is refused, naming the variable', () => {
    for (const value of ['0', '-1', '1.5', '10s', ' 100', '2147483648', 'Infinity']) {
      assert.throws(
        () => loadApiConfig({ IPOID_REQUEST_TIMEOUT_MS: value }),
        /^Error: IPOID_REQUEST_TIMEOUT_MS must be a whole number of milliseconds/,
      );
      assert.throws(() => loadApiConfig({ IPOID_KEEP_ALIVE_TIMEOUT_MS: value }), /^Error: IPOID_KEEP_ALIVE_TIMEOUT_MS must be/);
    }
  });
});

forEachStore((target) => {
  describe('slow and idle clients', () => {
    let api: TestApi;
    let app: FastifyInstance;
    let base: string;
    before(async () => {
      api = await startApi(target);
      ({ app, base } = await serve(api.store, [], { requestTimeoutMs: TIMEOUT_MS, keepAliveTimeoutMs: TIMEOUT_MS }));
    });
    after(async () => {
      await app.close();
      await api.close();
    });

    test('by default a request has 10 s and an idle connection 72 s', () => {
      const { server } = api.app;
      assert.equal(server.requestTimeout, DEFAULT_REQUEST_TIMEOUT_MS);
      assert.equal(server.headersTimeout, DEFAULT_REQUEST_TIMEOUT_MS);
      assert.equal(server.keepAliveTimeout, DEFAULT_KEEP_ALIVE_TIMEOUT_MS);
    });

    /** How many requests were answered in turn, each within a second, while `pending` ran. */
    async function answeredMeanwhile(pending: Promise<unknown>): Promise<number> {
      let done = false;
      const finish = () => (done = true);
      pending.then(finish, finish);
      let answered = 0;
      while (!done) {
        const answer = await request(`${base}/feed/v1/ip/1.1.1.1`, { signal: AbortSignal.timeout(1000) });
        assert.equal(answer.status, 200);
        answered++;
      }
      return answered;
    }

    test('headers sent a byte at a time are cut off with 408, while other clients are answered', async () => {
      const head = `GET /feed/v1/ip/1.1.1.1 HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(1000)}\r\n\r\n`;
      const slow = Promise.all(Array.from({ length: SLOW_CLIENTS }, () => cutOff(base, (s) => trickle(s, head, 20))));
      assert.ok((await answeredMeanwhile(slow)) > 0);
      for (const client of await slow) assertTimedOut(client);
    });

    test('a connection that never sends a byte is cut off with 408', async () => {
      assertTimedOut(await cutOff(base, () => {}));
    });

    test('a body that stops short of its Content-Length is cut off with 408', async () => {
      const partial = 'POST /feed/v1/ips HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ips":["1.1';
      const slow = Promise.all(Array.from({ length: SLOW_CLIENTS }, () => cutOff(base, (s) => s.write(partial))));
      assert.ok((await answeredMeanwhile(slow)) > 0);
      for (const client of await slow) assertTimedOut(client);
    });

    test('a slow request that completes within the timeout is answered', async () => {
      const body = '{"ips":["1.1.1.1"]}';
      const raw = `POST /feed/v1/ips HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const { raw: received } = await cutOff(base, (s) => trickle(s, raw, TIMEOUT_MS / 10, Math.ceil(raw.length / 3)));
      const [answer] = parseRawAnswers(received);
      assert.equal(answer?.status, 200, answer?.text);
      assert.ok(answer?.json['1.1.1.1']);
    });

    test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
      const socket = await rawConnect(base);
      let answeredAt = 0;
      socket.once('data', () => (answeredAt = performance.now()));
      const received = rawReceive(socket, TIMEOUT_MS + NODE_KEEP_ALIVE_BUFFER_MS + SLACK_MS + 1000);
      socket.write('GET /feed/v1/ip/1.1.1.1 HTTP/1.1\r\nHost: x\r\n\r\n');
      const [answer, ...more] = parseRawAnswers(await received);
      const idle = performance.now() - answeredAt;
      assert.equal(answer?.status, 200);
      assert.match(answer?.headers.get('connection') ?? '', /keep-alive/);
      assert.deepEqual(more, []);
      // Node closes a second after the timeout it announces, so that clients close first.
      assert.match(answer?.headers.get('keep-alive') ?? '', /^timeout=0$/);
      assert.ok(
        idle >= TIMEOUT_MS - 20 && idle < TIMEOUT_MS + NODE_KEEP_ALIVE_BUFFER_MS + SLACK_MS,
        `closed after ${idle.toFixed(0)} ms idle`,
      );
    });
  });
});
