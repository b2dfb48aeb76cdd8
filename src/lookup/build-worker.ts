import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { storedVersionTag } from '../store/feed-status.ts';
import type { FeedStatus } from '../store/types.ts';
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
 * What the worker is asked: a whole index, or a patch of the index built from `since` (the
 * statuses its base was read in) with the keys the runs since wrote, unless more than
 * `maxKeys` of them (or a run whose keys were not kept came between): then a whole index.
 */
export interface BuildRequest {
  patch?: { since: FeedStatus[]; maxKeys: number };
}

/**
 * What the worker answers: the index (`patch`: the overlay of a patch), and the stored data's
 * version tag once it was read (newer than the index's when an import committed meanwhile),
 * with why a patch asked for failed, when a whole build followed it; or the failure.
 */
export type BuildResult = { parts: IndexParts; patch: boolean; current: string; patchError?: string } | { error: string };

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

setPriority(BUILD_NICE);
const { url } = workerData as { url: string };
const store = await openStore(url, { readOnly: true, poolSize: 1 });

async function build({ patch }: BuildRequest): Promise<BuildResult> {
  let patchError: string | undefined;
  if (patch) {
    const builder = new IndexBuilder();
    // A patch that cannot be made, or fails, is followed by a whole build.
    const statuses = await store
      .scanChanges(patch.since, patch.maxKeys, { record: (row) => builder.add(row), gone: (key) => builder.remove(key) })
      .catch((err: unknown) => {
        patchError = messageOf(err);
        return null;
      });
    if (statuses) return { parts: builder.finish(statuses), patch: true, current: await storedVersionTag(store) };
  }
  const builder = new IndexBuilder();
  const statuses = await store.scanRecords((row) => builder.add(row));
  return { parts: builder.finish(statuses), patch: false, current: await storedVersionTag(store), patchError };
}

parentPort!.on('message', (request: BuildRequest) => {
  build(request).then(
    (result) => parentPort!.postMessage(result, 'parts' in result ? indexBuffers(result.parts) : []),
    (err: unknown) => parentPort!.postMessage({ error: messageOf(err) } satisfies BuildResult),
  );
});
