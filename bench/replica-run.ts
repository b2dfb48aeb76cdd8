/*
 * The replica benchmark's steps on a started pair: `ipoid import` of day 1 into the primary
 * until the replica has it too, then the next day's diff with a reader on the replica. For
 * each import: its time on the primary, and how long after its commit returned the replica
 * served it (its latest import_run the primary's: replicaLag).
 */
import type { Connection } from 'mariadb';
import { parseIp, type CanonicalIp } from '../src/feed/ip.ts';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/types.ts';
import { replicaLag, type ReplicaPair } from '../test/helpers/replica-pair.ts';
import { sampleAddresses } from './api-data.ts';
import { startCliImport, type FinishedImport } from './imports.ts';
import { answerDigest, ReplicaReader, type ReaderTally } from './replica-reader.ts';

const DATABASE = 'ipoid';
// A 40M load replays for hours on two cores; a replica whose replication stops fails the wait at once.
const CATCH_UP_TIMEOUT_MS = 6 * 60 * 60_000;
// Stored addresses sampled from each day for the reader: the 5% churn changes some of them.
const PROBES_PER_DAY = 500;
// How long the reader may take to see day 2 once the replica has it: a read under way, then a pause.
const READER_DEADLINE_MS = 10_000;

export interface ReplicatedImport extends FinishedImport {
  /** From reading the feed until its commit returned. */
  seconds: number;
  /** From its commit's return until the replica served it. */
  lagSeconds: number;
}

export interface ReaderResult extends ReaderTally {
  probes: number;
  /** Whether the probes answer differently on the two days (else the reader could not tell them apart). */
  daysDiffer: boolean;
  /** From the diff's commit until a read answered day 2. */
  firstDay2Seconds: number | null;
}

export interface ReplicaResult {
  load: ReplicatedImport;
  diff: ReplicatedImport;
  reader: ReaderResult;
}

/** Stored addresses of both days (read from the feeds' address fields): some added, changed or deleted by the diff. */
export async function probeAddresses(day1: string, day2: string, records: number): Promise<CanonicalIp[]> {
  const [first, second] = await Promise.all([day1, day2].map((feed) => sampleAddresses(feed, records, PROBES_PER_DAY, 1)));
  return [...new Set([...first!, ...second!])].map(parseIp);
}

export async function benchReplica(
  pair: ReplicaPair,
  feeds: { day1: string; day2: string },
  probes: CanonicalIp[],
  log: (line: string) => void,
): Promise<ReplicaResult> {
  // The schema first, replicated, so that both sides have the database to watch from the load's start.
  const primaryStore = await openStore(pair.primary.url(DATABASE));
  const opened: { end(): Promise<void> }[] = [{ end: () => primaryStore.close() }];
  try {
    await pair.caughtUp();
    const primary = await pair.primary.connect(DATABASE);
    opened.push(primary);
    const replica = await pair.replica.connect(DATABASE);
    opened.push(replica);
    const url = pair.primary.url(DATABASE);

    const load = await replicatedImport(url, feeds.day1, primary, replica);
    log(`load ${load.seconds.toFixed(1)} s on the primary; the replica had it ${load.lagSeconds.toFixed(1)} s after its commit`);

    const replicaStore = await openStore(pair.replica.url(DATABASE), { readOnly: true });
    opened.push({ end: () => replicaStore.close() });
    const { diff, reader } = await diffWithReader(url, feeds.day2, { primary, replica, primaryStore, replicaStore, probes });
    log(`diff ${diff.seconds.toFixed(1)} s on the primary; the replica had it ${diff.lagSeconds.toFixed(2)} s after its commit`);
    return { load, diff, reader };
  } finally {
    for (const resource of opened.reverse()) await resource.end().catch(() => undefined);
  }
}

/** `ipoid import FEED` into the primary, then the wait until the replica serves it. */
async function replicatedImport(url: string, feed: string, primary: Connection, replica: Connection): Promise<ReplicatedImport> {
  const running = await startCliImport(url, feed);
  const finished = await running.finished;
  // The wait starts at once; a process that fails after its commit fails the step too.
  const [lagMs] = await Promise.all([replicaLag(primary, replica, finished.at, CATCH_UP_TIMEOUT_MS), running.ended]);
  return { ...finished, seconds: (finished.at - running.readingAt) / 1000, lagSeconds: lagMs / 1000 };
}

interface Sides {
  primary: Connection;
  replica: Connection;
  primaryStore: Store;
  replicaStore: Store;
  probes: CanonicalIp[];
}

/** The diff, with a reader of the replica from before it starts until it has seen the new day (or a deadline past the lag). */
async function diffWithReader(url: string, feed: string, sides: Sides): Promise<{ diff: ReplicatedImport; reader: ReaderResult }> {
  const day1 = await answerDigest(sides.primaryStore, sides.probes);
  const reader = new ReplicaReader(sides.replicaStore, sides.probes);
  let diff: ReplicatedImport;
  let day2: string;
  try {
    diff = await replicatedImport(url, feed, sides.primary, sides.replica);
    day2 = await answerDigest(sides.primaryStore, sides.probes);
    await reader.waitFor(day2, READER_DEADLINE_MS);
  } finally {
    await reader.stop();
  }
  const tally = reader.tally(day1, day2);
  const firstDay2Seconds = tally.firstDay2At === null ? null : (tally.firstDay2At - diff.at) / 1000;
  return { diff, reader: { ...tally, probes: sides.probes.length, daysDiffer: day1 !== day2, firstDay2Seconds } };
}
