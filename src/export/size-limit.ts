import { IpoidError } from '../errors.ts';
import { listAll } from '../store/list-all.ts';
import type { ListFilter, Store, StoredRecord } from '../store/types.ts';

/** More records match than an export may hold. */
export class ExportTooLargeError extends IpoidError {
  constructor(message: string) {
    super('EXPORT_TOO_LARGE', message);
  }
}

export interface ExportLimit {
  /** The most records the export may hold. */
  limit: number;
  /** What sets the limit, for the message, e.g. "max=1000". */
  source: string;
  /** Counting stops beyond this many records (a server's cap plus one): the count named is then "more than". */
  countUpTo: number;
}

/**
 * The records an export is written from, once their count is known to be within the limit,
 * so that an export too large is refused before its first byte. An import between the count
 * and the end of the stream may add records: the stream then fails rather than end short.
 */
export async function limitedRecords(
  store: Store,
  filter: ListFilter,
  { limit, source, countUpTo }: ExportLimit,
): Promise<{ count: number; records: AsyncIterable<StoredRecord> }> {
  const count = await store.countListed(filter, countUpTo);
  if (count > limit) {
    const counted = count >= countUpTo ? `more than ${(countUpTo - 1).toLocaleString('en-US')}` : count.toLocaleString('en-US');
    throw new ExportTooLargeError(
      `${counted} records match; the export's limit is ${limit.toLocaleString('en-US')} (${source}): narrow the filters`,
    );
  }
  return { count, records: upTo(listAll(store, filter, limit + 1), limit, source) };
}

async function* upTo(records: AsyncIterable<StoredRecord>, limit: number, source: string): AsyncGenerator<StoredRecord> {
  let seen = 0;
  for await (const record of records) {
    if (++seen > limit) throw new ExportTooLargeError(`more than ${limit} records matched while the export was written (${source})`);
    yield record;
  }
}
