import type { ChildProcess } from 'node:child_process';
import { outputMatch } from './http.ts';
import { finished, spawnCli, type CliResult } from './cli.ts';

/** The line `ipoid serve` logs once it listens, with its URL. */
export const LISTENING = /IPoid API listening at (http:\/\/[\d.:]+)/;

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** SIGTERM, as Kubernetes stops a pod; resolves with how the process ended. */
  stop(): Promise<CliResult>;
}

/** `ipoid serve` as its own process on an ephemeral port, once it listens. */
export async function serveProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawnCli(['serve'], { IPOID_PORT: '0', IPOID_LOG_LEVEL: 'info', ...env });
  const result = finished(child);
  const [, url] = await outputMatch(child, 'stderr', LISTENING);
  return {
    url: url!,
    child,
    stop: () => {
      child.kill('SIGTERM');
      return result;
    },
  };
}
