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
// After a failed build, the next waits this long (the database path answers meanwhile).
const RETRY_AFTER_MS = 60_000;

export interface IndexState {
  /** The version of the data the index holds; null before the first build. */
  tag: string | null;
  records: number;
  bytes: number;
  builtAt: Date | null;
  buildSeconds: number | null;
  building: boolean;
}

/**
 * The lookup index of an API process, built again in a worker thread when the stored data's
 * version changes. Lookups keep reading the index they have until the next one is built (a
 * lookup never waits for a database while an import's index is built): the answers name the
 * version they read (api/lookups.ts). A failed build drops the index, so that lookups read the
 * database rather than older and older data.
 */
export class IndexHolder {
  readonly #url: string;
  readonly #logger: Logger;
  #index: LookupIndex | undefined;
  #worker: Worker | undefined;
  #failedAt = 0;
  #builtAt: Date | null = null;
  #buildSeconds: number | null = null;
  #closed = false;

  constructor(url: string, logger: Logger) {
    this.#url = url;
    this.#logger = logger;
  }

  /** The index built last; undefined before the first build, and after a failed one. */
  get index(): LookupIndex | undefined {
    return this.#index;
  }

  /** Starts a build when the data's version `tag` is not the one the index holds (unless one is running). */
  follow(tag: string): void {
    if (this.#index?.version.tag !== tag) this.#build();
  }

  get state(): IndexState {
    return {
      tag: this.#index?.version.tag ?? null,
      records: this.#index?.records ?? 0,
      bytes: this.#index?.bytes ?? 0,
      builtAt: this.#builtAt,
      buildSeconds: this.#buildSeconds,
      building: this.#worker !== undefined,
    };
  }

  #build(): void {
    if (this.#worker || this.#closed || Date.now() - this.#failedAt < RETRY_AFTER_MS) return;
    const started = performance.now();
    const worker = buildWorker({ url: this.#url });
    this.#worker = worker;
    worker.once('message', (parts: IndexParts) => {
      this.#index = new LookupIndex(parts);
      this.#builtAt = new Date();
      this.#buildSeconds = (performance.now() - started) / 1000;
      const { records, bytes, version } = this.#index;
      this.#logger.info({ records, bytes, version: version.tag, seconds: this.#buildSeconds }, 'lookup index built');
    });
    worker.once('error', (err) => {
      this.#failedAt = Date.now();
      this.#index = undefined;
      this.#logger.error({ err }, 'building the lookup index failed; lookups read the database');
    });
    worker.once('exit', () => {
      if (this.#worker === worker) this.#worker = undefined;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#worker?.terminate();
  }
}
