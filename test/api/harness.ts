import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../../src/api/config.ts';
import { buildServer } from '../../src/api/server.ts';
import { importFeed } from '../../src/import/importer.ts';
import type { Store } from '../../src/store/types.ts';
import { quietLogger, SAMPLE_FEED } from '../helpers/fixtures.ts';
import { freshStore, type StoreTarget } from '../helpers/stores.ts';

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

/** fetch, with a non-string body sent as JSON, and the answer read whole. */
export async function request(url: string, init: Omit<RequestInit, 'body'> & { body?: unknown } = {}): Promise<Answer> {
  const { body, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (body !== undefined && typeof body !== 'string') headers.set('content-type', 'application/json');
  const res = await fetch(url, { ...rest, headers, body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body) });
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
  const { error, message: text, statusCode, invalid, ...rest } = answer.json as Record<string, unknown>;
  assert.deepEqual(rest, {}, 'no other keys');
  assert.equal(statusCode, status);
  assert.equal(typeof error, 'string');
  assert.equal(typeof text, 'string');
  assert.ok(invalid === undefined || Array.isArray(invalid));
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
