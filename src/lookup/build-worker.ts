import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { storedVersionTag } from '../store/feed-status.ts';
import { openStore } from '../store/open.ts';
import { IndexBuilder, indexBuffers, type IndexParts } from './lookup-index.ts';

/*
 * The worker thread that builds the lookup index, for as long as the API runs: it reads the
 * whole store through a handle of its own (SQLite reads synchronously, which would stall the
 * API's event loop) whenever it is asked, and sends each index's arrays back without copying
 * them. One worker for the process's life: a thread started per build would load its modules
 * again each time and leave its memory to the allocator.
 */

// Builds yield the CPU to the lookups the main thread answers (a build reads every record, for
// seconds to minutes, right after each import). On Linux a nice value is a thread's own, so
// this lowers this thread only.
const BUILD_NICE = 10;

/**
 * What the worker answers a build request with: the index, and the stored data's version tag
 * once it was read (newer than the index's when an import committed meanwhile); or the failure.
 */
export type BuildResult = { parts: IndexParts; current: string } | { error: string };

setPriority(BUILD_NICE);
const { url } = workerData as { url: string };
const store = await openStore(url, { readOnly: true, poolSize: 1 });
parentPort!.on('message', () => {
  const builder = new IndexBuilder();
  store
    .scanRecords((row) => builder.add(row))
    .then(async (statuses) => ({ parts: builder.finish(statuses), current: await storedVersionTag(store) }))
    .then(
      (result) => parentPort!.postMessage(result satisfies BuildResult, indexBuffers(result.parts)),
      (err: unknown) => parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) } satisfies BuildResult),
    );
});
