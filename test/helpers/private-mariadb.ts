import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mariadb, { type Connection } from 'mariadb';
import { tempDir } from './fixtures.ts';

const MARIADBD = '/usr/sbin/mariadbd';

/**
 * Why tests that start private servers are skipped: they are not where mariadbd is
 * missing, except in CI (CI=true), where a missing server must fail them rather than hide them.
 */
export const PRIVATE_MARIADB_SKIP = existsSync(MARIADBD) || process.env.CI === 'true' ? false : `needs ${MARIADBD} and mariadb-install-db`;

/** A free TCP port on loopback (the OS picks it; it stays free for the moment we need it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const START_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A MariaDB server of the test's own, on its own data directory and port, which the test
 * may kill, freeze and start again without touching the shared server the other tests use.
 */
export class PrivateMariadb {
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly port: number,
    /** Server options beyond the defaults, e.g. a primary's binary log. */
    readonly serverArgs: readonly string[],
  ) {}

  /** Installs an empty data directory and starts the server on it, with `serverArgs` added to its options. */
  static async create(serverArgs: readonly string[] = []): Promise<PrivateMariadb> {
    if (!existsSync(MARIADBD)) throw new Error(`${MARIADBD} is missing: install mariadb-server to run this test`);
    const dir = tempDir();
    const server = new PrivateMariadb(dir, await freePort(), serverArgs);
    try {
      await promisify(execFile)('mariadb-install-db', [
        '--no-defaults',
        `--datadir=${join(dir, 'data')}`,
        `--user=${userInfo().username}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        // Its own temporary directory: two installs at once in /tmp collide on temporary table names.
        `--tmpdir=${dir}`,
      ]);
      await server.start();
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  /** A URL for `database` as root, which has no password on this server. */
  url(database: string): string {
    return `mariadb://root@127.0.0.1:${this.port}/${database}`;
  }

  /** A connection as root, into `database` when given. */
  async connect(database?: string): Promise<Connection> {
    const conn = await mariadb.createConnection({ host: '127.0.0.1', port: this.port, user: 'root', database, connectTimeout: 5_000 });
    // Lost while idle (the server killed, as tests and a benchmark's clean-up do), it emits an
    // 'error' event that unheard would end the process; its next command fails instead.
    conn.on('error', () => {});
    return conn;
  }

  /** Starts the server (after a stop, on the same data) and waits until it answers. */
  async start(): Promise<void> {
    const child = spawn(
      MARIADBD,
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--user=${userInfo().username}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(this.dir, 'mariadb.sock')}`,
        `--pid-file=${join(this.dir, 'mariadb.pid')}`,
        '--skip-name-resolve',
        `--tmpdir=${this.dir}`,
        '--innodb-buffer-pool-size=64M',
        `--log-error=${this.#errorLog}`,
        ...this.serverArgs,
      ],
      { stdio: 'ignore' },
    );
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // Generous: two servers starting at once on a busy 2-core machine.
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (performance.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode}; its log ends:\n${this.#logTail()}`);
      try {
        await (await this.connect()).end();
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`mariadbd did not answer within ${START_TIMEOUT_MS / 1000} s; its log ends:\n${this.#logTail()}`);
  }

  get #errorLog(): string {
    return join(this.dir, 'mariadb.err');
  }

  /** The server log's last lines, which say why it did not start (the directory goes with the server). */
  #logTail(): string {
    if (!existsSync(this.#errorLog)) return '(no log)';
    return readFileSync(this.#errorLog, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
  }

  /** SIGTERM: a clean shutdown. SIGKILL: a crash. Resolves once the process is gone. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    this.#child?.kill(signal);
    await this.#exited;
    this.#child = null;
  }

  /** SIGSTOP: the server hangs with its connections open; `resume` lets it go on. */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.resume();
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
