/*
 * The replica benchmark's two servers: a private primary and replica (test/helpers/replica-pair.ts),
 * with the README's MariaDB sizing, in a temporary folder on a disk with room. Page compression,
 * which the README also recommends, is left off: the published lag figures were measured without it.
 */
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ReplicaPair } from '../test/helpers/replica-pair.ts';
import type { PrivateMariadb } from '../test/helpers/private-mariadb.ts';
import { bytes } from './report.ts';

const GIB = 2 ** 30;
/** The README's buffer pool and redo log sizes, passed after the helper's own options so that they win (mariadbd keeps an option's last value). */
const BUFFER_POOL_BYTES = 4 * GIB;
const LOG_FILE_BYTES = GIB;
const SERVER_ARGS = ['--innodb-buffer-pool-size=4G', '--innodb-log-file-size=1G'];
// A server's folder: its data and binary or relay log, 2.2 GiB a million records (measured at 1M, rounded up), plus its redo log.
const SERVER_BYTES_PER_RECORD = (2.5 * GIB) / 1e6;

export interface ServerSettings {
  version: string;
  bufferPoolBytes: number;
  logFileBytes: number;
}

/**
 * Starts the pair, after checking that the temporary folder (TMPDIR) has room for both,
 * and checks that both servers took these settings.
 */
export async function startReplicaServers(records: number): Promise<{ pair: ReplicaPair; settings: ServerSettings }> {
  checkRoom(records);
  const pair = await ReplicaPair.create(SERVER_ARGS);
  try {
    const [primary, replica] = await Promise.all([settingsOf(pair.primary), settingsOf(pair.replica)]);
    for (const settings of [primary, replica]) {
      if (settings.bufferPoolBytes !== BUFFER_POOL_BYTES || settings.logFileBytes !== LOG_FILE_BYTES)
        throw new Error(
          `a server did not take ${SERVER_ARGS.join(' ')}: buffer pool ${bytes(settings.bufferPoolBytes)}, log file ${bytes(settings.logFileBytes)}`,
        );
    }
    return { pair, settings: primary };
  } catch (err) {
    await pair.destroy();
    throw err;
  }
}

function checkRoom(records: number): void {
  const needed = 2 * (records * SERVER_BYTES_PER_RECORD + LOG_FILE_BYTES);
  const { bavail, bsize } = statfsSync(tmpdir());
  const free = bavail * bsize;
  if (free < needed)
    throw new Error(
      `${tmpdir()} has ${bytes(free)} free; the two servers need about ${bytes(needed)}: set TMPDIR to a folder on a larger disk`,
    );
}

async function settingsOf(server: PrivateMariadb): Promise<ServerSettings> {
  const conn = await server.connect();
  try {
    const [row] = await conn.query<{ version: string; pool: number | bigint; log: number | bigint }[]>(
      'SELECT VERSION() AS version, @@innodb_buffer_pool_size AS pool, @@innodb_log_file_size AS log',
    );
    return { version: row!.version, bufferPoolBytes: Number(row!.pool), logFileBytes: Number(row!.log) };
  } finally {
    await conn.end();
  }
}
