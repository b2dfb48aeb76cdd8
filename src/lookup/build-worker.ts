import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { storedVersionTag } from '../store/feed-status.ts';
import type { FeedStatus } from '../store/types.ts';
import { openStore } from '../store/open.ts';
import { collectGarbage } from './collect-garbage.ts';
import { foldOverlay } from './fold.ts';
import { IndexBuilder, indexBuffers, recordsOf, type IndexParts } from './lookup-index.ts';

/*
 * The worker thread that builds the lookup index, for as long as the API runs: it reads the
 * whole store through a handle of its own (SQLite reads synchronously, which would stall the
 * API's event loop) whenever it is asked, or the keys that changed since (a patch), and sends
 * each index's arrays back without copying them. One worker for the process's life: a thread
 * started per build would load its modules again each time and leave its memory to the allocator.
 */

// Builds yield the CPU to the lookups the main thread answers (a build reads every record, for
// seconds to minutes, right after each import). On Linux a nice value is a thread's own, so
// this lowers this thread only.
const BUILD_NICE = 10;

/**
 * What the worker is asked: a whole index, or a patch of the index built from `since` (the
 * statuses its base was read in) with the keys the runs since wrote, unless more than
 * `maxKeys` of them (or a run whose keys were not kept came between): then a whole index.
 * `base` names the API's base (BuildResult.base): when it is the one this worker kept and the
 * patch reaches `foldAt` keys, the patch is folded into it, and a new base sent.
 */
export interface BuildRequest {
  patch?: { since: FeedStatus[]; maxKeys: number; base: number | undefined; foldAt: number };
}

/**
 * What the worker answers: the index (a new base when built whole or folded, else the
 * overlay of a patch), with the keys a patch read, the id of a new base, and the stored
 * data's version tag once it was read (newer than the index's when an import committed
 * meanwhile), with why a patch asked for failed, when a whole build followed it; or the failure.
 */
export type BuildResult =
  | { parts: IndexParts; made: 'built' | 'patched' | 'folded'; keys?: number; base?: number; current: string; patchError?: string }
  | { error: string };

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

setPriority(BUILD_NICE);
const { url } = workerData as { url: string };
const store = await openStore(url, { readOnly: true, poolSize: 1 });

/** The last base this worker sent (its arrays are shared with the API's thread, not copied): what patches are folded into. */
let kept: { id: number; parts: IndexParts } | undefined;
let bases = 0;

/** Keeps `parts` as the base the next patch may fold into, and names it. */
function keep(parts: IndexParts): number {
  kept = { id: ++bases, parts };
  return kept.id;
}

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
    if (statuses) {
      const overlay = builder.finish(statuses, { shared: false });
      const keys = recordsOf(overlay); // a row for each key read: its record, or that it is gone
      const current = await storedVersionTag(store);
      if (!kept || kept.id !== patch.base || keys < patch.foldAt) return { parts: overlay, made: 'patched', keys, current };
      const parts = foldOverlay(kept.parts, overlay);
      return { parts, made: 'folded', keys, base: keep(parts), current };
    }
  }
  kept = undefined; // let go first: while a whole build runs, the process holds the old index and the new one, no more
  const builder = new IndexBuilder();
  const statuses = await store.scanRecords((row) => builder.add(row));
  const parts = builder.finish(statuses, { shared: true });
  return { parts, made: 'built', base: keep(parts), current: await storedVersionTag(store), patchError };
}

// A base's arrays are shared, an overlay's handed over: the message copies the rest (the dictionaries, statuses), small.
parentPort!.on('message', (request: BuildRequest) => {
  build(request)
    .then(
      (result) => parentPort!.postMessage(result, 'parts' in result && result.made === 'patched' ? indexBuffers(result.parts) : []),
      (err: unknown) => parentPort!.postMessage({ error: messageOf(err) } satisfies BuildResult),
    )
    .finally(collectGarbage); // the base it no longer keeps, and the patch's builders (collect-garbage.ts)
});
