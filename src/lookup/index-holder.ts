import type { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import { startWorker } from '../worker-thread.ts';
import { collectGarbage } from './collect-garbage.ts';
import type { BuildRequest, BuildResult } from './build-worker.ts';
import { LookupIndex } from './lookup-index.ts';

// After a failed build, the next waits this long.
const RETRY_AFTER_MS = 60_000;
// A build that has not ended by then is stopped and counts as failed (a database connection
// that hangs would otherwise freeze the index): 40 million records take about 6 minutes.
const BUILD_DEADLINE_MS = 30 * 60_000;

/**
 * A patch reads the keys the runs since the index's base was read wrote (realtime slots and
 * imports), all of them each time (one overlay, not one per run); beyond this many a whole
 * build is asked for. A patch reads a record by its key, a build in one ordered scan: at 1M
 * records, 50,000 keys (a day of 5% churn) read in 2.0 s on MariaDB with its default 128 MiB
 * buffer pool and 0.8 s on SQLite, where a scan of every record read in 2.2 and 7.2 s and a
 * whole build took 8 to 10 s. An eighth of the store keeps a patch well below a build on
 * both: a day's import and its slots, and usually the next day's too.
 */
const patchLimit = (baseRecords: number): number => Math.max(10_000, Math.ceil(baseRecords / 8));

/**
 * A patch of this many keys is folded into the base (lookup/fold.ts): the index then holds one
 * base again, as a whole build would, and the next patches read only the runs after it. A day's
 * import (5% churn writes about a twentieth of the keys) is folded; realtime slots (about
 * 10,000 keys each) gather in the overlay first, for hours at tens of millions of records, as a
 * fold copies every array of the index. Below a thousand keys an overlay costs lookups nothing
 * worth a copy.
 */
const foldAt = (baseRecords: number): number => Math.max(1_000, Math.ceil(baseRecords / 32));

/** The newest import run a data version's tag names (its run ids joined by "."): versions only move forward. */
const newestRun = (tag: string): number => Math.max(...tag.split('.').map(Number));

export interface IndexState {
  records: number;
  /** The keys the runs since the base (the last whole build or fold) wrote, which patches read: records, or gone (0 right after a build or fold). */
  patchedRecords: number;
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
 * index there was, and is tried again a minute later; `/_info` and the metrics show it. Before
 * the first index, lookups read the database: a first index older than data they answered is
 * left, and built again.
 */
export class IndexHolder {
  readonly #url: string;
  readonly #logger: Logger;
  #index: LookupIndex | undefined;
  /** Which of the builder's bases the index's base is (BuildResult.base): folds need the one the builder kept. */
  #baseId: number | undefined;
  /** The builder thread, started at the first build and kept. */
  #worker: Worker | undefined;
  /** The build running: when it started, and its deadline. */
  #running: { started: number; deadline: NodeJS.Timeout } | undefined;
  #failedAt: Date | null = null;
  #builtAt: Date | null = null;
  #buildSeconds: number | null = null;
  /** Whether a lookup was answered from the database since the build running began (there is no index yet). */
  #answeredFromStore = false;
  /** Whether a first index was left for being older than such answers: said once. */
  #leftOlder = false;
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
    // Asked before every lookup: the same version as the index's, nearly always, is told without parsing the tags.
    if (tag === this.#index?.version.tag) return;
    if (!this.#index || newestRun(tag) > newestRun(this.#index.version.tag)) this.#build();
  }

  /** Tells that a lookup was answered from the database, before the first index: see #settle. */
  answeredFromStore(): void {
    this.#answeredFromStore = true;
  }

  get state(): IndexState {
    return {
      records: this.#index?.records ?? 0,
      patchedRecords: this.#index?.overlayRecords ?? 0,
      bytes: this.#index?.bytes ?? 0,
      builtAt: this.#builtAt,
      buildSeconds: this.#buildSeconds,
      building: this.#running !== undefined,
      failedAt: this.#failedAt,
    };
  }

  #build(): void {
    if (this.#running || this.#closed || (this.#failedAt && Date.now() - this.#failedAt.getTime() < RETRY_AFTER_MS)) return;
    const worker = (this.#worker ??= this.#startWorker());
    const deadline = setTimeout(() => {
      this.#settle({ error: `the build did not end within ${BUILD_DEADLINE_MS / 60_000} minutes` });
      void worker.terminate();
    }, BUILD_DEADLINE_MS).unref();
    this.#running = { started: performance.now(), deadline };
    this.#answeredFromStore = false;
    const index = this.#index;
    const request: BuildRequest = index
      ? {
          patch: {
            since: index.baseStatuses,
            maxKeys: patchLimit(index.baseRecords),
            base: this.#baseId,
            foldAt: foldAt(index.baseRecords),
          },
        }
      : {};
    worker.postMessage(request);
  }

  #startWorker(): Worker {
    const worker = startWorker('./build-worker', import.meta.url, { url: this.#url });
    worker.on('message', (result: BuildResult) => this.#settle(result));
    worker.on('messageerror', (err) => this.#settle({ error: err.message }));
    // A worker that fails (it could not open the store, say) exits: the next build starts another.
    worker.on('error', (err) => this.#settle({ error: err.message }));
    worker.once('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#settle({ error: `the builder thread exited (code ${code})` });
    });
    return worker;
  }

  /** Ends the build running, if any, with its index or its failure: a failure keeps the index there was. */
  #settle(result: BuildResult): void {
    const build = this.#running;
    if (!build) return;
    this.#running = undefined;
    clearTimeout(build.deadline);
    if (this.#closed) return;
    if ('error' in result) {
      this.#failedAt = new Date();
      const version = this.#index?.version.tag ?? null;
      this.#logger.error(
        { err: result.error, version },
        'building the lookup index failed; lookups keep the index there was (or read the database)',
      );
      return;
    }
    if (result.patchError) this.#logger.warn({ err: result.patchError }, 'patching the lookup index failed; it was built whole instead');
    // (The index a patch was asked for is still this.#index: it changes only here.)
    const index = result.made === 'patched' ? this.#index!.patched(result.parts) : new LookupIndex(result.parts);
    this.#failedAt = null;
    this.#buildSeconds = (performance.now() - build.started) / 1000;
    // Before the first index, lookups read the database: when they did during this build and an
    // import committed meanwhile, they may have answered newer data than the index holds, and
    // answers must not go back. It is left, and the next build starts at once.
    if (!this.#index && this.#answeredFromStore && newestRun(result.current) > newestRun(index.version.tag)) {
      if (!this.#leftOlder) {
        this.#logger.info(
          { version: index.version.tag, current: result.current, seconds: this.#buildSeconds },
          'lookups answered newer data from the database while the first lookup index was built: building it again, lookups read the database until then (said once)',
        );
      }
      this.#leftOlder = true;
      this.#build();
      return;
    }
    this.#index = index;
    if (result.made !== 'patched') {
      this.#baseId = result.base;
      collectGarbage(); // the base there was, now unread (collect-garbage.ts)
    }
    this.#builtAt = new Date();
    const { records, bytes, version, overlayRecords } = index;
    const seconds = this.#buildSeconds;
    if (result.made === 'built') this.#logger.info({ records, bytes, version: version.tag, seconds }, 'lookup index built');
    else
      this.#logger.info(
        { records, bytes, version: version.tag, seconds, keys: result.keys, folded: result.made === 'folded', overlayRecords },
        'lookup index patched',
      );
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#worker?.terminate();
  }
}
