import { httpStatus, IpoidError } from '../errors.ts';
import type { Store } from '../store/types.ts';

/** The database failed or did not answer; the cause stays in the logs, never in an answer. */
export class StoreUnavailableError extends IpoidError {
  constructor(cause: unknown, reason = 'database unavailable') {
    super('STORE_UNAVAILABLE', reason, { cause });
  }
}

/** A lookup or health read not answered by then fails (503); the client has given up anyway. */
const LOOKUP_TIMEOUT_MS = 800;
/** The same for list pages and label counts, which may scan much of a table. */
const SCAN_TIMEOUT_MS = 30_000;

/**
 * The store as the routes use it: any failure but a bad cursor (the client's mistake)
 * becomes StoreUnavailableError, which answers 503 without the driver's message, and so
 * does a read the database does not answer in time (a hung server must not hang the API;
 * the abandoned read finishes or fails on its own).
 */
export function guardStore(store: Store): Store {
  const guard =
    <A extends unknown[], R>(method: (...args: A) => Promise<R>, timeoutMs: number) =>
    async (...args: A): Promise<R> => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StoreUnavailableError(null, `database did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([method(...args), deadline]);
      } catch (err) {
        // A bad cursor (the client's mistake) and a timeout already say what to answer.
        throw err instanceof IpoidError && httpStatus(err) !== 500 ? err : new StoreUnavailableError(err);
      } finally {
        clearTimeout(timer);
      }
    };
  return {
    kind: store.kind,
    url: store.url,
    historyDays: store.historyDays,
    dataDays: guard(store.dataDays.bind(store), LOOKUP_TIMEOUT_MS),
    pastOf: guard(store.pastOf.bind(store), LOOKUP_TIMEOUT_MS),
    changedKeys: guard(store.changedKeys.bind(store), SCAN_TIMEOUT_MS),
    lookup: guard(store.lookup.bind(store), LOOKUP_TIMEOUT_MS),
    lookupMany: guard(store.lookupMany.bind(store), LOOKUP_TIMEOUT_MS),
    feedStatus: guard(store.feedStatus.bind(store), LOOKUP_TIMEOUT_MS),
    list: guard(store.list.bind(store), SCAN_TIMEOUT_MS),
    countListed: guard(store.countListed.bind(store), SCAN_TIMEOUT_MS),
    prefixes: guard(store.prefixes.bind(store), SCAN_TIMEOUT_MS),
    labelCounts: guard(store.labelCounts.bind(store), SCAN_TIMEOUT_MS),
    labels: guard(store.labels.bind(store), LOOKUP_TIMEOUT_MS),
    importRuns: guard(store.importRuns.bind(store), SCAN_TIMEOUT_MS),
    // The lookup index's builder reads everything, in the background.
    scanRecords: (visit) => store.scanRecords(visit),
    scanChanges: (since, maxKeys, visitor) => store.scanChanges(since, maxKeys, visitor),
    // The API never imports; an import has no deadline.
    beginImport: (feed) => store.beginImport(feed),
    close: () => store.close(),
  };
}
