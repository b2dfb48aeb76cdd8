import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mariadb from 'mariadb';
import { tempDir } from './fixtures.ts';

const MARIADBD = '/usr/sbin/mariadbd';

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
  ) {}

  /** Installs an empty data directory and starts the server on it. */
  static async create(): Promise<PrivateMariadb> {
    const dir = tempDir();
    await promisify(execFile)('mariadb-install-db', [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      `--user=${userInfo().username}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ]);
    const server = new PrivateMariadb(dir, await freePort());
    await server.start();
    return server;
  }

  /** A URL for `database` as root, which has no password on this server. */
  url(database: string): string {
    return `mariadb://root@127.0.0.1:${this.port}/${database}`;
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
        '--innodb-buffer-pool-size=64M',
      ],
      { stdio: 'ignore' },
    );
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode}; see ${this.dir}/data/*.err`);
      try {
        const conn = await mariadb.createConnection({ host: '127.0.0.1', port: this.port, user: 'root', connectTimeout: 500 });
        await conn.end();
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error('mariadbd did not answer within 10 s');
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
