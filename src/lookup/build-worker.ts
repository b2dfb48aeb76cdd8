import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.ts';
import { IndexBuilder, indexBuffers } from './lookup-index.ts';

/*
 * A worker thread that builds the lookup index: it reads the whole store through a handle of
 * its own (SQLite reads synchronously, which would stall the API's event loop) and sends the
 * index's arrays back without copying them.
 */

const { url } = workerData as { url: string };
const store = await openStore(url, { readOnly: true, poolSize: 1 });
try {
  const builder = new IndexBuilder();
  const parts = builder.finish(await store.scanRecords((row) => builder.add(row)));
  parentPort!.postMessage(parts, indexBuffers(parts));
} finally {
  await store.close();
}
