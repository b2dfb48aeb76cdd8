/*
 * What the benchmarks read from the outside of a process: its peak memory from /proc, and
 * the disk that a database's files take while it works, polled.
 */
import { readdirSync, readFileSync, readlinkSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';

/** Peak resident memory (VmHWM) of a live process, in MB; null once it is gone. */
export function peakRssMb(pid: number): number | null {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = 100; // USER_HZ: /proc counts CPU time in hundredths of a second on Linux.

/** CPU seconds (user + system) a live process has used so far, all its threads. */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Calls `sample` every `intervalMs` (and at once) until stopped; stop() answers the largest value seen. */
export function pollPeak(sample: () => number, intervalMs: number): { stop(): number } {
  let peak = sample();
  const timer = setInterval(() => (peak = Math.max(peak, sample())), intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, sample());
    },
  };
}

/** Bytes a file takes on disk (allocated blocks, not its apparent length); 0 when it is gone. */
function diskBytes(stat: () => Stats): number {
  try {
    return stat().blocks * 512;
  } catch {
    return 0;
  }
}

/**
 * Disk taken by a SQLite database and by the temporary files of the process `pid` writing it.
 * SQLite unlinks its temporary files as soon as it opens them (wherever SQLITE_TMPDIR points),
 * so no directory lists them: they are found among the process's open files, as deleted ones.
 */
export function sqliteDiskBytes(dbPath: string, pid: number): number {
  let bytes = 0;
  // -journal: a first load into an empty file writes it directly, with a rollback journal (SqliteImport).
  for (const suffix of ['', '-wal', '-shm', '-journal']) bytes += diskBytes(() => statSync(dbPath + suffix));
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return bytes; // the process has ended
  }
  for (const fd of fds) {
    const link = `/proc/${pid}/fd/${fd}`;
    try {
      const target = readlinkSync(link);
      // memfd files are memory, not disk.
      if (target.endsWith(' (deleted)') && !target.startsWith('/memfd:')) bytes += diskBytes(() => statSync(link));
    } catch {
      // closed meanwhile
    }
  }
  return bytes;
}

/** Disk taken by every file under `dir` (a file or folder that vanishes meanwhile counts as nothing). */
export function treeDiskBytes(dir: string): number {
  let bytes = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += treeDiskBytes(path);
    else if (entry.isFile()) bytes += diskBytes(() => statSync(path));
  }
  return bytes;
}
