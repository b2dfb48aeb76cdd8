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
 * The current lookup index of an API process, rebuilt in a worker thread when the stored data's
 * version changes. Readers take `current(tag)`: the index only when it holds that version, so an
 * answer is never older than the data the API names in its headers (the database answers
 * while a new index is being built).
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

  /** The index when it holds version `tag`; starts building that version when it does not. */
  current(tag: string): LookupIndex | undefined {
    if (this.#index?.tag === tag) return this.#index;
    this.#build();
    return undefined;
  }

  get state(): IndexState {
    return {
      tag: this.#index?.tag ?? null,
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
      const { records, bytes, tag } = this.#index;
      this.#logger.info({ records, bytes, tag, seconds: this.#buildSeconds }, 'lookup index built');
    });
    worker.once('error', (err) => {
      this.#failedAt = Date.now();
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
