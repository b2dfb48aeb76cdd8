/*
 * Replica lag benchmark (issue 10): a MariaDB primary and a replica, private `mariadbd`s set
 * up with the README's MariaDB sizing (4 GiB buffer pool, 1 GiB redo log, no page compression; row-based binary log,
 * GTID). `ipoid import` loads day 1 into the primary, then the next day's diff (5% churn);
 * for each, its time on the primary and how long after its commit returned the replica
 * served it. A reader of the replica looks up the same addresses throughout the diff: did it
 * see the old day or the new only, never a mix?
 *
 *   npm run bench:replica -- --records 1000000
 *
 * Feeds are cached in bench/out/. The servers live in a temporary folder (TMPDIR; each about
 * 2.2 GiB a million records plus its 1 GiB redo log), removed at the end, also on failure or Ctrl-C.
 */
import { parseArgs } from 'node:util';
import type { ReplicaPair } from '../test/helpers/replica-pair.ts';
import { benchFeed, benchNextDayFeed, type BenchFeed } from './feeds.ts';
import { onInterrupt } from './interrupt.ts';
import { pollPeak, treeDiskBytes } from './measure.ts';
import { bytes, count, machine, markdownTable, seconds } from './report.ts';
import { READ_PAUSE_MS } from './replica-reader.ts';
import { benchReplica, probeAddresses, type ReplicaResult, type ReplicatedImport } from './replica-run.ts';
import { startReplicaServers, type ServerSettings } from './replica-servers.ts';

// How often the servers' folders are measured for their peak (a walk of a few dozen files).
const FOLDER_POLL_MS = 2_000;

interface Folder {
  end: number;
  peak: number;
}

const { values } = parseArgs({ options: { records: { type: 'string', default: '1000000' } } });
const records = Number(values.records);
if (!Number.isInteger(records) || records <= 0) throw new Error(`--records must be a positive whole number, not ${values.records}`);
const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

const day1 = await benchFeed(records);
const day2 = await benchNextDayFeed(records);
const generated = (feed: BenchFeed) => (feed.generatedSeconds === null ? 'cached' : `generated in ${seconds(feed.generatedSeconds)}`);
log(`feeds: day 1 ${generated(day1)}, day 2 ${generated(day2)}`);
const probes = await probeAddresses(day1.file, day2.file, records);

let pair: ReplicaPair | undefined;
const stopHandling = onInterrupt(async () => pair?.destroy());
let result: ReplicaResult;
let settings: ServerSettings;
let folders: Folder[] = [];
try {
  ({ pair, settings } = await startReplicaServers(records));
  log(`primary on port ${pair.primary.port}, replica on ${pair.replica.port}, in ${pair.primary.dir} and ${pair.replica.dir}`);
  const watch = watchFolders([pair.primary.dir, pair.replica.dir]);
  try {
    result = await benchReplica(pair, { day1: day1.file, day2: day2.file }, probes, log);
  } finally {
    folders = watch.stop();
  }
} finally {
  await pair?.destroy();
  stopHandling();
}

console.log(`\n${machine(settings)}, innodb_log_file_size ${bytes(settings.logFileBytes)}, on both servers`);
console.log(
  `${count(records)} records; the lag runs from the primary's commit returning (\`ipoid import\` logs "import finished") ` +
    `until the replica's latest import_run is the primary's; the reader looks up ${count(result.reader.probes)} stored addresses of both days ` +
    `on the replica every ${READ_PAUSE_MS} ms, from before the diff until it sees day 2\n`,
);
console.log(
  markdownTable(
    [
      'records',
      'primary: full load',
      'replica: load applied',
      'primary: 5% diff',
      'replica lag after the diff',
      'reader on the replica during the diff',
      'server folders at the end (peak): primary / replica',
    ],
    [row(result)],
  ),
);

function row({ load, diff, reader }: ReplicaResult): string[] {
  const imported = (i: ReplicatedImport) => `${seconds(i.seconds)}, ${count(i.records / i.seconds)} records/s`;
  const firstDay2 =
    reader.firstDay2Seconds === null ? 'never saw day 2' : `first saw day 2 ${seconds(reader.firstDay2Seconds)} after the commit`;
  const days = reader.daysDiffer ? '' : ' (the probes answer the same on both days: no test of a mix)';
  return [
    count(records),
    imported(load),
    `${seconds(load.lagSeconds)} after the commit`,
    `${seconds(diff.seconds)} (+${diff.inserted} ~${diff.updated} -${diff.deleted})`,
    seconds(diff.lagSeconds),
    `${reader.day1} reads day 1, ${reader.day2} day 2, ${reader.mixed} mixed; ${firstDay2}${days}`,
    folders.map(({ end, peak }) => `${bytes(end)} (${bytes(peak)})`).join(' / '),
  ];
}

/** Polls each folder's disk use; stop() answers each one's use at its peak and at the end. */
function watchFolders(dirs: string[]): { stop(): Folder[] } {
  const peaks = dirs.map((dir) => pollPeak(() => treeDiskBytes(dir), FOLDER_POLL_MS));
  return { stop: () => dirs.map((dir, i) => ({ peak: peaks[i]!.stop(), end: treeDiskBytes(dir) })) };
}
