import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseSlotPath, SLOT_MS, slotPath } from '../realtime/slot.ts';

/** Misbehaviour to inject for one feed type. */
export interface FakeSpurFaults {
  /** Answer 500 (or failStatus) to the first N requests of each path (the redirect and the file count apart). */
  failFirst?: number;
  /** The status of those injected failures, e.g. 429 or 503. */
  failStatus?: number;
  /** A Retry-After header sent with them, as the server would write it. */
  retryAfter?: string;
  /** Send this many bytes of the file, then cut the connection. */
  cutAfterBytes?: number;
  /** Send the file at this rate (bytes/s), in ten pieces a second. */
  trickleBytesPerSecond?: number;
  /** realtime/latest names a slot this many 5-minute steps after the newest file (published, but not readable yet). */
  realtimeLatestAhead?: number;
  /** Refuse the token (401) on realtime paths only. */
  refuseRealtime?: boolean;
}

export interface FakeSpurOptions {
  /**
   * FEEDS/{feed_type}/{YYYYMMDD}/feed.json.gz; the latest date is the greatest directory name.
   * Realtime files: FEEDS/{feed_type}/realtime/{YYYYMMDD}/{HHMM}.json.gz, the latest the greatest name.
   */
  dir: string;
  /** The token every request must carry; null serves without one, like a pre-signed storage URL. */
  token: string | null;
  /** 0 (default): any free port. */
  port?: number;
  /** By feed type; read at each request, so a test may change them while the server runs. */
  faults?: Partial<Record<string, FakeSpurFaults>>;
  /** Redirect to files on this other origin (e.g. a second fake server) instead of this one. */
  fileOrigin?: string;
}

export interface FakeSpurRequest {
  method: string;
  path: string;
  status: number;
  /** Whether the request carried a Token header (never its value). */
  token: boolean;
  userAgent: string | undefined;
  /** Milliseconds since the server started. */
  at: number;
}

export interface FakeSpur {
  url: string;
  requests: FakeSpurRequest[];
  close(): Promise<void>;
}

const ROUTE = /^\/v2\/([a-z0-9-]+)\/(?:(latest\.json\.gz)|(latest)|(\d{8})\/feed\.json\.gz)$/;
const REALTIME_ROUTE = /^\/v2\/([a-z0-9-]+)\/realtime\/(?:(latest\.json\.gz)|(latest)|(\d{8}\/\d{4})\.json\.gz)$/;

/** The greatest name in a directory that matches, if any. */
async function greatest(dir: string, pattern: RegExp): Promise<string | undefined> {
  const names = (await readdir(dir).catch(() => [])).filter((name) => pattern.test(name));
  return names.sort().at(-1);
}

const latestDate = (dir: string, feed: string): Promise<string | undefined> => greatest(join(dir, feed), /^\d{8}$/);

/** YYYYMMDD/HHMM of the newest realtime file of a feed, or of the slot `ahead` 5-minute steps after it. */
async function latestSlot(dir: string, feed: string, ahead = 0): Promise<string | undefined> {
  const realtime = join(dir, feed, 'realtime');
  const dates = (await readdir(realtime).catch(() => [])).filter((name) => /^\d{8}$/.test(name)).sort();
  for (const date of dates.reverse()) {
    const file = await greatest(join(realtime, date), /^\d{4}\.json\.gz$/);
    if (file) return slotPath(new Date(parseSlotPath(`${date}/${file.slice(0, 4)}`)!.getTime() + ahead * SLOT_MS));
  }
  return undefined;
}

/** 20261130/1205 as RFC 3339: 2026-11-30T12:05:00Z. */
const slotTime = (slot: string): string =>
  `${slot.slice(0, 4)}-${slot.slice(4, 6)}-${slot.slice(6, 8)}T${slot.slice(9, 11)}:${slot.slice(11, 13)}:00Z`;

const isoTime = (date: string): string => `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T00:00:00Z`;

/**
 * A stand-in for Spur's feed server, for tests and local development: the same two
 * endpoints, the 302 with x-feed-generation-date, 401 on a missing or wrong token, and
 * injectable faults. It listens on loopback only.
 */
export async function startFakeSpur(options: FakeSpurOptions): Promise<FakeSpur> {
  const requests: FakeSpurRequest[] = [];
  const started = performance.now();
  const failures = new Map<string, number>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const seen = (status: number): FakeSpurRequest => ({
      method: req.method ?? '',
      path,
      status,
      token: req.headers.token !== undefined,
      userAgent: req.headers['user-agent'],
      at: performance.now() - started,
    });
    const answer = (status: number, headers: Record<string, string | number> = {}, body = ''): void => {
      requests.push(seen(status));
      res.writeHead(status, headers).end(body);
    };
    const realtime = REALTIME_ROUTE.exec(path);
    const route = realtime ?? ROUTE.exec(path);
    if (req.method !== 'GET' || !route) return answer(404);
    if (options.token !== null && req.headers.token !== options.token) return answer(401, {}, 'invalid token');
    const [, feed = '', redirect, json, named] = route;
    const faults = options.faults?.[feed] ?? {};
    if (realtime && faults.refuseRealtime) return answer(401, {}, 'invalid token');
    const failed = failures.get(path) ?? 0;
    if (failed < (faults.failFirst ?? 0)) {
      failures.set(path, failed + 1);
      return answer(
        faults.failStatus ?? 500,
        faults.retryAfter === undefined ? {} : { 'retry-after': faults.retryAfter },
        'injected failure',
      );
    }
    let feedFile: string;
    if (realtime) {
      const slot = named ?? (await latestSlot(options.dir, feed, json ? (faults.realtimeLatestAhead ?? 0) : 0));
      if (!slot) return answer(404);
      const location = `${options.fileOrigin ?? ''}/v2/${feed}/realtime/${slot}.json.gz`;
      if (redirect) return answer(302, { location });
      if (json) return answer(200, { 'content-type': 'application/json' }, JSON.stringify({ json: { date: slotTime(slot), location } }));
      feedFile = join(options.dir, feed, 'realtime', `${slot}.json.gz`);
    } else {
      const date = named ?? (await latestDate(options.dir, feed));
      if (!date) return answer(404);
      if (redirect) {
        const location = `${options.fileOrigin ?? ''}/v2/${feed}/${date}/feed.json.gz`;
        return answer(302, { location, 'x-feed-generation-date': date });
      }
      if (json) {
        const body = { json: { location: `${date}/feed.json.gz`, date, generated_at: isoTime(date), available_at: isoTime(date) } };
        return answer(200, { 'content-type': 'application/json' }, JSON.stringify(body));
      }
      feedFile = join(options.dir, feed, date, 'feed.json.gz');
    }
    const size = await stat(feedFile).then(
      (s) => s.size,
      () => null,
    );
    if (size === null) return answer(404);
    requests.push(seen(200));
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': size });
    await sendFile(res, feedFile, faults);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => res.destroy(err as Error));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Streams the file, trickling and cutting it off as the faults say. */
async function sendFile(res: ServerResponse, path: string, faults: FakeSpurFaults): Promise<void> {
  const rate = faults.trickleBytesPerSecond;
  const piece = rate ? Math.max(1, Math.ceil(rate / 10)) : 64 * 1024;
  const limit = faults.cutAfterBytes ?? Infinity;
  let sent = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: piece })) {
    if (res.destroyed) return;
    const part = (chunk as Buffer).subarray(0, limit - sent);
    sent += part.length;
    const flushed = new Promise((resolve) => res.write(part, resolve));
    if (sent >= limit) {
      await flushed;
      res.socket?.destroy();
      return;
    }
    if (rate) await sleep(100);
    else await flushed;
  }
  res.end();
}
