/* How the benchmarks print their figures. */
import { availableParallelism, totalmem } from 'node:os';
import type { MariadbServer } from './databases.ts';

export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

export function count(n: number): string {
  return Math.round(n).toLocaleString('en');
}

export function seconds(s: number): string {
  return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
}

export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  return `${(n / 2 ** 20).toFixed(n >= 10 * 2 ** 20 ? 0 : 1)} MiB`;
}

/** The machine line under a benchmark's table: cores, memory, Node, and the MariaDB server (or why it was not reached). */
export function machine(server: Pick<MariadbServer, 'version' | 'bufferPoolBytes'> | string): string {
  const db =
    typeof server === 'string'
      ? `MariaDB not reached (${server})`
      : `MariaDB ${server.version}, innodb_buffer_pool_size ${bytes(server.bufferPoolBytes)}`;
  return `Machine: ${availableParallelism()} CPUs (nproc), ${bytes(totalmem())} RAM, Node ${process.version}, ${db}`;
}
