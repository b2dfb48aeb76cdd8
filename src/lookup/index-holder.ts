import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import { LookupIndex, type IndexParts } from './lookup-index.ts';

/**
 * The worker running build-worker, as this module is run: the compiled module of dist/, or,
 * run from the TypeScript sources (tsx: tests, `npm start`), the source through tsx's API (a
 * worker thread does not inherit the loader tsx registered, nor does `--import tsx` register
 * it in time for the worker's first module on Node 20).
 */
function buildWorker(workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./build-worker.js', import.meta.url), { workerData });
  const source = new URL('./build-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const load = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${JSON.stringify(source)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(load, { eval: true, workerData });
}
// After a failed build, the next waits this long.
const RETRY_AFTER_MS = 60_000;
// A build that has not ended by then is stopped and counts as failed (a database connection
// that hangs would otherwise freeze the index): 40 million records take about 6 minutes.
const BUILD_DEADLINE_MS = 30 * 60_000;

/** The newest import run a data version's tag names (its run ids joined by "."): versions only move forward. */
const newestRun = (tag: string): number => Math.max(...tag.split('.').map(Number));

export interface IndexState {
  /** The version of the data the index holds; null before the first build. */
  tag: string | null;
  records: number;
  bytes: number;
  builtAt: Date | null;
  buildSeconds: number | null;
  building: boolean;
  /** When the last build failed, if one did since the last that succeeded. */
  failedAt: Date | null;
}

/**
 * The lookup index of an API process, built again in a worker thread when the stored data's
 * version moves on. Lookups keep reading the index they have until the next one is built (a
 * lookup never waits for a database while an import's index is built, nor when the database
 * is down): the answers name the version they read (api/lookups.ts). A failed build keeps the
 * index there was, and is tried again a minute later; `/_info` and the metrics show it.
 */
export class IndexHolder {
  readonly #url: string;
  readonly #logger: Logger;
  #index: LookupIndex | undefined;
  #worker: Worker | undefined;
  #failedAt: Date | null = null;
  #builtAt: Date | null = null;
  #buildSeconds: number | null = null;
  #closed = false;

  constructor(url: string, logger: Logger) {
    this.#url = url;
    this.#logger = logger;
  }

  /** The index built last; undefined before the first build. */
  get index(): LookupIndex | undefined {
    return this.#index;
  }

  /** Starts a build when the data's version `tag` is newer than the index's (unless one is running). */
  follow(tag: string): void {
    if (!this.#index || newestRun(tag) > newestRun(this.#index.version.tag)) this.#build();
  }

  get state(): IndexState {
    return {
      tag: this.#index?.version.tag ?? null,
      records: this.#index?.records ?? 0,
      bytes: this.#index?.bytes ?? 0,
      builtAt: this.#builtAt,
      buildSeconds: this.#buildSeconds,
      building: this.#worker !== undefined,
      failedAt: this.#failedAt,
    };
  }

  #build(): void {
    if (this.#worker || this.#closed || (this.#failedAt && Date.now() - this.#failedAt.getTime() < RETRY_AFTER_MS)) return;
    const started = performance.now();
    const worker = buildWorker({ url: this.#url });
    this.#worker = worker;
    let settled = false;
    const fail = (err: unknown) => {
      if (settled || this.#closed) return;
      settled = true;
      this.#failedAt = new Date();
      const version = this.#index?.version.tag ?? null;
      this.#logger.error({ err, version }, 'building the lookup index failed; lookups keep the index there was (or read the database)');
    };
    const deadline = setTimeout(() => {
      fail(new Error(`the build did not end within ${BUILD_DEADLINE_MS / 60_000} minutes`));
      void worker.terminate();
    }, BUILD_DEADLINE_MS).unref();
    worker.once('message', (parts: IndexParts) => {
      if (settled) return;
      settled = true;
      this.#index = new LookupIndex(parts);
      this.#builtAt = new Date();
      this.#failedAt = null;
      this.#buildSeconds = (performance.now() - started) / 1000;
      const { records, bytes, version } = this.#index;
      this.#logger.info({ records, bytes, version: version.tag, seconds: this.#buildSeconds }, 'lookup index built');
    });
    worker.on('error', fail);
    worker.on('messageerror', fail);
    worker.once('exit', (code) => {
      clearTimeout(deadline);
      fail(new Error(`the build's worker exited (code ${code}) without sending the index`));
      if (this.#worker === worker) this.#worker = undefined;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#worker?.terminate();
  }
}
