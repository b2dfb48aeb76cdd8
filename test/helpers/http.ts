import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../../src/api/config.ts';
import { buildServer } from '../../src/api/server.ts';
import { importFeed } from '../../src/import/importer.ts';
import type { Store } from '../../src/store/types.ts';
import { quietLogger, SAMPLE_FEED } from './fixtures.ts';
import { freshStore, type StoreTarget } from './stores.ts';

/** An API server over real HTTP on an ephemeral port, on a fresh database. */
export interface TestApi {
  base: string;
  store: Store;
  dbUrl: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

export interface StartOptions {
  tokens?: string[];
  /** Feed imported before serving; null for none (default: the sample feed). */
  feed?: string | null;
}

export async function startApi(target: StoreTarget, options: StartOptions = {}): Promise<TestApi> {
  const { store, url, close } = await freshStore(target);
  const feed = options.feed === undefined ? SAMPLE_FEED : options.feed;
  if (feed !== null) await importFeed(store, feed, { feed: 'anonymous', logger: quietLogger });
  const { app, base } = await serve(store, options.tokens);
  return {
    base,
    store,
    dbUrl: url,
    app,
    close: async () => {
      await app.close();
      await close();
    },
  };
}

/** An API server over `store` on an ephemeral port. */
export async function serve(
  store: Store,
  tokens: string[] = [],
  config: Partial<ServerConfig> = {},
): Promise<{ app: FastifyInstance; base: string }> {
  const app = buildServer({ store, logger: quietLogger, config: { tokens, ...config } });
  return { app, base: await app.listen({ host: '127.0.0.1', port: 0 }) };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any;
}

/** fetch, with a body other than a string or bytes sent as JSON, and the answer read whole. */
export async function request(url: string, init: Omit<RequestInit, 'body'> & { body?: unknown } = {}): Promise<Answer> {
  const { body, ...rest } = init;
  const headers = new Headers(rest.headers);
  const asIs = body === undefined || typeof body === 'string' || body instanceof Uint8Array;
  if (!asIs) headers.set('content-type', 'application/json');
  const res = await fetch(url, { ...rest, headers, body: asIs ? (body as BodyInit | undefined) : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Asserts an error answer: the status, JSON in the one error shape, and no stack trace. */
export function assertError(answer: Answer, status: number, message?: RegExp): void {
  assert.equal(answer.status, status, answer.text);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
  const { error, message: text, statusCode, invalid, reasons, ...rest } = answer.json as Record<string, unknown>;
  assert.deepEqual(rest, {}, 'no other keys');
  assert.equal(statusCode, status);
  assert.equal(typeof error, 'string');
  assert.equal(typeof text, 'string');
  assert.ok(invalid === undefined || Array.isArray(invalid));
  assert.equal((reasons as unknown[] | undefined)?.length, (invalid as unknown[] | undefined)?.length, 'a reason for each invalid entry');
  assert.doesNotMatch(answer.text, /\bat .*\.[jt]s:\d+|node_modules|Error:/, 'no stack trace or internals');
  if (message) assert.match(text as string, message);
}

/** Reads a child's output until `pattern` matches; answers the match. */
export function outputMatch(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = pattern.exec(seen);
      if (!m) return;
      child[stream]?.off('data', onData);
      resolve(m);
    };
    child[stream]?.on('data', onData);
    child.on('close', () => reject(new Error(`process ended before printing ${pattern}:\n${seen}`)));
  });
}

/** A TCP connection to the server at `base`, once connected. */
export function rawConnect(base: string): Promise<Socket> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket)).once('error', reject);
  });
}

/** Everything `socket` receives until the server closes it; rejects after `timeoutMs`. */
export function rawReceive(socket: Socket, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `the server did not close the connection within ${timeoutMs} ms; received ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`,
        ),
      );
    }, timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    // A reset after the answer is the server closing on unread input: the answer still counts.
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** Sends raw bytes, which fetch would refuse or repair, on a new connection; answers all it receives. */
export async function rawExchange(base: string, bytes: string | Uint8Array, timeoutMs = 2000): Promise<Buffer> {
  const socket = await rawConnect(base);
  const received = rawReceive(socket, timeoutMs);
  socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  return received;
}

/**
 * The answers in raw HTTP/1.1 bytes, in order, read as `request` reads one (interim 1xx
 * answers skipped). A body without Content-Length or chunked framing runs to the end.
 */
export function parseRawAnswers(raw: Buffer): Answer[] {
  const answers: Answer[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    assert.ok(end >= 0, `an incomplete HTTP answer: ${JSON.stringify(rest.toString('latin1').slice(0, 300))}`);
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    assert.ok(status, `not an HTTP status line: ${JSON.stringify(statusLine)}`);
    const headers = new Headers(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
    rest = rest.subarray(end + 4);
    if (Number(status[1]) < 200) continue;
    let body: Buffer;
    [body, rest] = splitBody(rest, headers);
    const text = body.toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    answers.push({ status: Number(status[1]), headers, text, json });
  }
  return answers;
}

function splitBody(bytes: Buffer, headers: Headers): [body: Buffer, rest: Buffer] {
  const length = headers.get('content-length');
  if (length !== null) return [bytes.subarray(0, Number(length)), bytes.subarray(Number(length))];
  if (headers.get('transfer-encoding') !== 'chunked') return [bytes, Buffer.alloc(0)];
  const chunks: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    assert.ok(lineEnd >= 0 && size >= 0, 'a complete chunked body');
    chunks.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
    if (size === 0) return [Buffer.concat(chunks), bytes.subarray(at)];
  }
}

/**
 * Waits until `url` names another data version than `etag` (its ETag): after an import the API
 * names the new data within about a second, and its lookups answer from it from then on.
 */
export async function untilNewVersion(url: string, etag: string | null, deadlineMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + deadlineMs; (await request(url)).headers.get('etag') === etag; await delay(50)) {
    assert.ok(Date.now() < deadline, `${url} still named version ${etag} after ${deadlineMs} ms`);
  }
}

/**
 * Runs `change` (an import) and waits until `url` names the data version it made: for a second
 * after an import an answer may still name the one before.
 */
export async function untilChangeNamed(url: string, change: () => Promise<unknown>): Promise<void> {
  const etag = (await request(url)).headers.get('etag');
  await change();
  await untilNewVersion(url, etag);
}

/** Waits until the server's lookup index holds `records` records and no newer build is running. */
export async function indexBuilt(base: string, records: number): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await delay(50)) {
    const info = await request(`${base}/_info`);
    // /_info also reads the feeds' status, which a busy database may answer 503: the next poll asks again.
    const index = info.status === 200 ? info.json.lookupIndex : undefined;
    if (index?.records === records && !index.building) return;
  }
  assert.fail(`the lookup index did not reach ${records} records within a minute`);
}
