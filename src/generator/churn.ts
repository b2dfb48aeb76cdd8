import { neighborAddress, type AddressKey } from './addresses.ts';
import { generateRecordLines, type GenerateSummary } from './generate.ts';
import { parseRecord, type ParsedRecord } from './line-address.ts';
import { eachLine, lineBlocks } from './line-blocks.ts';
import { changeRecord, neighborRecord } from './mutations.ts';
import { indexPreviousFeed, type PreviousFeed } from './previous.ts';
import { createRandom, type Random } from './random.ts';
import { ChunkPacker } from './writer.ts';

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
  /** The next day's file content (JSON lines); reads the previous feed a second time as it is pulled. */
  chunks: AsyncGenerator<Buffer>;
}

/** Independent random streams, so e.g. which records go never depends on how a change was drawn. */
interface Streams {
  select: Random;
  change: Random;
  neighbor: Random;
  fresh: Random;
}

const BYTE_ORDER_MARK = Buffer.from('\uFEFF');

/**
 * Derives the next day's feed from `from`: the previous records in order, minus the removed
 * ones, with changed ones rewritten, and with the additions. Half the additions are
 * interleaved right after a previous record, next to it in its range; the rest (and any
 * neighbor that found no free address) come last, from new ranges. Records that stay are
 * copied byte for byte, without parsing them.
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
  return { summary, chunks: nextDay(options.from, previous, share, streams) };
}

async function* nextDay(from: string, previous: PreviousFeed, share: number, streams: Streams): AsyncGenerator<Buffer> {
  const { select, change, neighbor, fresh } = streams;
  const added = new Set<AddressKey>();
  const taken = (key: AddressKey): boolean => previous.has(key) || added.has(key);
  const packer = new ChunkPacker();
  let left = previous.count;
  let toRemove = share;
  let toChange = share;
  let toNeighbor = Math.floor(share / 2);
  let line = 0;
  let nonRecord = 0; // index of the next line in previous.nonRecords

  for await (const block of lineBlocks(from)) {
    const { bytes } = block;
    // bytes[kept, …) are lines that stay as they are, not yet packed: runs go in one copy.
    let kept = line === 0 && bytes.subarray(0, BYTE_ORDER_MARK.length).equals(BYTE_ORDER_MARK) ? BYTE_ORDER_MARK.length : 0;
    const keepUntil = (at: number): void => packer.bytes(bytes, kept, at);
    const parseAt = (start: number, end: number, unterminated: boolean): ParsedRecord =>
      parseRecord(from, bytes, start, end, line, unterminated);

    eachLine(block, (start, end, unterminated) => {
      line += 1;
      if (previous.nonRecords[nonRecord] === line) {
        nonRecord += 1;
        keepUntil(start);
        kept = end + 1;
        return;
      }
      if (left === 0) throw new Error(`previous feed ${from} grew while it was read`);
      // Selection sampling: each pick has probability (still to pick) / (records left), which
      // picks exactly the wanted number in one pass, spread evenly over the file.
      const fate = select.int(0, left - 1);
      const growsHere = select.int(0, left - 1) < toNeighbor;
      left -= 1;
      let record: ParsedRecord | undefined;
      if (fate < toRemove + toChange) {
        keepUntil(start);
        kept = end + 1;
        if (fate < toRemove) toRemove -= 1;
        else {
          toChange -= 1;
          record = parseAt(start, end, unterminated);
          packer.line(JSON.stringify(changeRecord(record.context, change)));
        }
      }
      if (growsHere) {
        toNeighbor -= 1;
        record ??= parseAt(start, end, unterminated);
        const next = neighborAddress(record.address, neighbor, taken);
        if (next !== undefined) {
          added.add(next.key);
          keepUntil(end + 1);
          kept = end + 1;
          packer.line(JSON.stringify(neighborRecord(record.context, next.text)));
        }
      }
    });
    keepUntil(bytes.length);
    if (packer.ready) yield* packer.take();
  }
  if (left !== 0) throw new Error(`previous feed ${from} shrank while it was read`);
  // New ranges cannot hold a previous or interleaved address: their blocks were reserved.
  for (const text of generateRecordLines(share - added.size, fresh, previous.allocator)) {
    packer.line(text);
    if (packer.ready) yield* packer.take();
  }
  yield* packer.take(true);
}
