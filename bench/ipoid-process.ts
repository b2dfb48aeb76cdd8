/*
 * Child processes of the benchmarks: `ipoid` commands (run through tsx as `npm run ipoid`
 * does) and the import worker, each alone in its process so that its memory is its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
/** What is kept of a child's stderr for an error message. */
const STDERR_TAIL = 16 * 1024;

export interface Child {
  process: ChildProcess;
  /** When it was spawned (performance.now()). */
  spawnedAt: number;
  /** Its stdout once it exits with status 0; rejects with its stderr's tail otherwise. */
  exited: Promise<string>;
  /** The first match of `pattern` in its stderr (line by line); rejects if it exits first. */
  stderrMatch(pattern: RegExp): Promise<RegExpExecArray>;
  /** Calls `listener` with each later line of its stderr. */
  onStderrLine(listener: (line: string) => void): void;
}

/** `ipoid ARGS` with these variables on top of the environment. */
export function spawnIpoid(args: string[], env: Record<string, string>): Child {
  return spawnTs(MAIN, args, env);
}

/** A TypeScript file of the project, run through tsx. */
export function spawnTs(file: string, args: string[], env: Record<string, string> = {}): Child {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A benchmark that stops early (an error, Ctrl-C) takes its children with it rather than leave them running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('close', () => process.off('exit', killOnExit));
  let stdout = '';
  let stderrTail = '';
  let partialLine = '';
  const watchers: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  const listeners: ((line: string) => void)[] = [];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    const text = d.toString();
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
    const lines = (partialLine + text).split('\n');
    partialLine = lines.pop()!;
    for (const line of lines) {
      for (const listener of listeners) listener(line);
      for (const watcher of [...watchers]) {
        const m = watcher.pattern.exec(line);
        if (!m) continue;
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve(m);
      }
    }
  });
  const exited = new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${file} ${args.join(' ')} exited (${code ?? signal}):\n${stderrTail}`));
    });
  });
  return {
    process: child,
    spawnedAt,
    exited,
    onStderrLine: (listener) => listeners.push(listener),
    stderrMatch: (pattern) =>
      new Promise((resolve, reject) => {
        watchers.push({ pattern, resolve });
        exited.then(
          () => reject(new Error(`${file} exited before it logged ${pattern}`)),
          (err: unknown) => reject(err as Error),
        );
      }),
  };
}
