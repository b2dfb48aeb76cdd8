import type { Connection } from 'mariadb';
import { PrivateMariadb } from './private-mariadb.ts';

// Row-based binary log: the replica applies each import's rows as one transaction, as production's do.
const PRIMARY_ARGS = ['--server-id=1', '--log-bin=primary-bin', '--binlog-format=ROW'];
// Read-only as production's replicas are (replication itself writes regardless).
const REPLICA_ARGS = ['--server-id=2', '--relay-log=replica-relay-bin', '--read-only'];

// Generous: a busy 2-core machine, and a benchmark's imports may be large.
const DEFAULT_TIMEOUT_MS = 60_000;
// How often a wait for the replica checks that its replication threads still run.
const STATUS_CHECK_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SlaveStatus {
  Slave_IO_Running: string;
  Slave_SQL_Running: string;
  Last_IO_Error: string;
  Last_SQL_Error: string;
}

/**
 * Two private MariaDB servers, the second replicating the first (GTID, row-based binary
 * log): write through `primary`, read through `replica` as production's API does.
 */
export class ReplicaPair {
  private constructor(
    readonly primary: PrivateMariadb,
    readonly replica: PrivateMariadb,
  ) {}

  /**
   * Starts both servers and the replication; stops whatever started if any step fails.
   * `serverArgs` go to both servers, last, so they override the defaults (mariadbd keeps an option's last value).
   */
  static async create(serverArgs: readonly string[] = []): Promise<ReplicaPair> {
    const [primary, replica] = await Promise.allSettled([
      PrivateMariadb.create([...PRIMARY_ARGS, ...serverArgs]),
      PrivateMariadb.create([...REPLICA_ARGS, ...serverArgs]),
    ]);
    try {
      if (primary.status === 'rejected') throw primary.reason;
      if (replica.status === 'rejected') throw replica.reason;
      await follow(replica.value, primary.value);
      return new ReplicaPair(primary.value, replica.value);
    } catch (err) {
      for (const server of [primary, replica]) if (server.status === 'fulfilled') await server.value.destroy();
      throw err;
    }
  }

  /** Waits until the replica has applied everything the primary committed so far. */
  async caughtUp(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    const primary = await this.primary.connect();
    try {
      const replica = await this.replica.connect();
      try {
        await waitForReplica(primary, replica, timeoutMs);
      } finally {
        await replica.end();
      }
    } finally {
      await primary.end();
    }
  }

  /** Stops both servers and removes their directories, even if one of them fails to stop. */
  async destroy(): Promise<void> {
    const results = await Promise.allSettled([this.replica.destroy(), this.primary.destroy()]);
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  }
}

/** Points `replica` at `primary` from the primary's first binary log, and waits until it is connected. */
async function follow(replica: PrivateMariadb, primary: PrivateMariadb): Promise<void> {
  const conn = await replica.connect();
  try {
    // Root has no password on private servers; an empty slave position starts from the primary's first binlog.
    await conn.query(
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='root', MASTER_PASSWORD='',
         MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1`,
    );
    await conn.query('START SLAVE');
    const deadline = performance.now() + DEFAULT_TIMEOUT_MS;
    for (;;) {
      const status = await slaveStatus(conn);
      if (status.Slave_IO_Running === 'Yes' && status.Slave_SQL_Running === 'Yes') return;
      if (performance.now() > deadline) throw new Error(`the replica did not start replicating: ${statusText(status)}`);
      await sleep(50);
    }
  } finally {
    await conn.end();
  }
}

async function slaveStatus(replica: Connection): Promise<SlaveStatus> {
  const [status] = await replica.query<SlaveStatus[]>('SHOW SLAVE STATUS');
  if (!status) throw new Error('the server is no replica (SHOW SLAVE STATUS is empty)');
  return status;
}

const statusText = (s: SlaveStatus): string =>
  `IO thread ${s.Slave_IO_Running} (${s.Last_IO_Error || 'no error'}), SQL thread ${s.Slave_SQL_Running} (${s.Last_SQL_Error || 'no error'})`;

/**
 * Waits until `replica` has applied (committed) every transaction `primary` had committed
 * when called. MASTER_GTID_WAIT wakes when the replica commits the position: no polling interval.
 * It waits in slices, checking between them that replication still runs: a stopped replica
 * fails the wait at once rather than at the timeout (a benchmark's may be hours).
 */
export async function waitForReplica(primary: Connection, replica: Connection, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const [primaryRow] = await primary.query<{ pos: string }[]>('SELECT @@gtid_binlog_pos AS pos');
  const pos = primaryRow!.pos;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const sliceMs = Math.max(0, Math.min(STATUS_CHECK_MS, deadline - performance.now()));
    const [replicaRow] = await replica.query<{ reached: number | bigint }[]>('SELECT MASTER_GTID_WAIT(?, ?) AS reached', [
      pos,
      sliceMs / 1000,
    ]);
    if (Number(replicaRow!.reached) === 0) return;
    const status = await slaveStatus(replica);
    if (status.Slave_IO_Running === 'No' || status.Slave_SQL_Running === 'No')
      throw new Error(`replication stopped before the replica reached the primary's position ${pos}: ${statusText(status)}`);
    if (performance.now() >= deadline)
      throw new Error(`the replica did not reach the primary's position ${pos} within ${timeoutMs} ms: ${statusText(status)}`);
  }
}

/**
 * Replica lag of the primary's latest import, in ms: from `committedAt` (a `performance.now()`
 * taken when the import's commit returned; default now) until the replica has committed it
 * too, checked by its `import_run` holding the same latest run as the primary's. Both
 * connections must be into IPoid's database.
 */
export async function replicaLag(
  primary: Connection,
  replica: Connection,
  committedAt = performance.now(),
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<number> {
  await waitForReplica(primary, replica, timeoutMs);
  const lag = performance.now() - committedAt;
  const [onPrimary, onReplica] = await Promise.all([latestRunId(primary), latestRunId(replica)]);
  if (onReplica !== onPrimary)
    throw new Error(`caught up, yet the replica's latest import run is ${onReplica}, the primary's ${onPrimary}`);
  return lag;
}

async function latestRunId(conn: Connection): Promise<number | null> {
  const [row] = await conn.query<{ id: number | bigint | null }[]>('SELECT MAX(id) AS id FROM import_run');
  return row?.id == null ? null : Number(row.id);
}
