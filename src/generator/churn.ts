import { readFeed } from '../feed/reader.ts';
import type { SpurRecord } from '../feed/schema.ts';
import { neighborAddress } from './addresses.ts';
import { generateRecords, type GenerateSummary } from './generate.ts';
import { changeRecord, neighborRecord } from './mutations.ts';
import { indexPreviousFeed, type PreviousFeed } from './previous.ts';
import { createRandom, type Random } from './random.ts';

export interface ChurnOptions {
  /** The previous feed, gzip or plain JSON lines. */
  from: string;
  /** Fraction of the previous records that churn: a third removed, a third changed, a third's worth added. */
  churn: number;
  seed: number;
}

export interface ChurnedFeed {
  /** Exact: what an importer diffing the two feeds finds. */
  summary: GenerateSummary;
  /** The next day's records; read the previous feed a second time as they are pulled. */
  records: AsyncGenerator<SpurRecord>;
}

/** Independent random streams, so e.g. which records go never depends on how a change was drawn. */
interface Streams {
  select: Random;
  change: Random;
  neighbor: Random;
  fresh: Random;
}

/**
 * Derives the next day's feed from `from`: the previous records in order, minus the removed
 * ones, with changed ones rewritten, and with the additions. Half the additions are
 * interleaved right after a previous record, next to it in its range; the rest (and any
 * neighbor that found no free address) come last, from new ranges.
 */
export async function churnFeed(options: ChurnOptions): Promise<ChurnedFeed> {
  if (!(options.churn >= 0 && options.churn <= 1)) throw new RangeError(`churn must be a fraction in [0, 1], got ${options.churn}`);
  // Created up front so a bad seed fails before the (long) first pass, not mid-write.
  const streams: Streams = {
    select: createRandom(options.seed, 0),
    change: createRandom(options.seed, 1),
    neighbor: createRandom(options.seed, 2),
    fresh: createRandom(options.seed, 3),
  };
  const previous = await indexPreviousFeed(options.from);
  const share = Math.round((previous.count * options.churn) / 3);
  const summary: GenerateSummary = {
    records: previous.count, // as many added as removed
    removed: share,
    changed: share,
    added: share,
    unchanged: previous.count - 2 * share,
  };
  return { summary, records: nextDay(options.from, previous, share, streams) };
}

async function* nextDay(from: string, previous: PreviousFeed, share: number, streams: Streams): AsyncGenerator<SpurRecord> {
  const { select, change, neighbor, fresh } = streams;
  const added = new Set<string>();
  const taken = (address: string): boolean => previous.has(address) || added.has(address);
  let left = previous.count;
  let toRemove = share;
  let toChange = share;
  let toNeighbor = Math.floor(share / 2);

  // Selection sampling: each pick has probability (still to pick) / (records left), which
  // picks exactly the wanted number in one pass, spread evenly over the file.
  for await (const line of readFeed(from)) {
    if (!line.ok) continue;
    if (left === 0) throw new Error(`previous feed ${from} grew while it was read`);
    const { context, address } = line.record;
    const fate = select.int(0, left - 1);
    const growsHere = select.int(0, left - 1) < toNeighbor;
    left -= 1;
    if (fate < toRemove) toRemove -= 1;
    else if (fate < toRemove + toChange) {
      toChange -= 1;
      yield changeRecord(context, change);
    } else yield context;

    if (growsHere) {
      toNeighbor -= 1;
      const next = neighborAddress(address, neighbor, taken);
      if (next !== undefined) {
        added.add(next);
        yield neighborRecord(context, next);
      }
    }
  }
  if (left !== 0) throw new Error(`previous feed ${from} shrank while it was read`);
  // New ranges cannot hold a previous or interleaved address: their blocks were reserved.
  yield* generateRecords(share - added.size, fresh, previous.allocator);
}
