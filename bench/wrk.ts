/*
 * wrk as the load driver: one thread of C keeps the connections busy for a fraction of the CPU
 * autocannon takes a request, on the cores the server shares. Its Lua script takes the
 * requests from a file, round and round, and counts answers other than 200 and 404.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Load, Measured } from './api-load.ts';

const SCRIPT = `
local threads = {}
function setup(thread) threads[#threads + 1] = thread end
-- Formatted in init, once the thread knows its host (wrk.format names it in each request).
function init(args)
  unexpected = 0
  next_request = 0
  requests = {}
  for line in io.lines(os.getenv("IPOID_WRK_REQUESTS")) do
    local path, body = line:match("^(%S+) (.*)$")
    if path then
      requests[#requests + 1] = wrk.format("POST", path, { ["content-type"] = "application/json" }, body)
    else
      requests[#requests + 1] = wrk.format("GET", line)
    end
  end
end
function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
function response(status, headers, body)
  if status ~= 200 and status ~= 404 then unexpected = unexpected + 1 end
end
function done(summary, latency, requests)
  local unexpected = 0
  for _, thread in ipairs(threads) do unexpected = unexpected + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format("IPOID_WRK %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), unexpected + e.connect + e.read + e.write + e.timeout))
end
`;

export async function driveWrk(base: string, load: Load): Promise<Measured> {
  if (load.rate !== undefined) throw new Error('wrk offers no fixed rate of requests: use IPOID_BENCH_DRIVER=autocannon for one');
  const dir = mkdtempSync(join(tmpdir(), 'ipoid-wrk-'));
  try {
    const script = join(dir, 'load.lua');
    const requests = join(dir, 'requests');
    writeFileSync(script, SCRIPT);
    // One request a line: a path, or a path, a space and a JSON body (which holds no newline).
    writeFileSync(requests, load.requests.map((r) => ('body' in r ? `${r.path} ${r.body}` : r.path)).join('\n') + '\n');
    const { stdout } = await promisify(execFile)(
      'wrk',
      ['--threads', '1', '--connections', String(load.connections), '--duration', `${load.seconds}s`, '--script', script, base],
      { env: { ...process.env, IPOID_WRK_REQUESTS: requests } },
    );
    const line = /^IPOID_WRK (\d+) (\d+) (\d+) (\d+) (\d+)$/m.exec(stdout);
    if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
    const [requestsDone, micros, p50, p99, errors] = line.slice(1).map(Number) as [number, number, number, number, number];
    // Tenths of a millisecond: finer than autocannon's whole ones, not finer than a busy machine measures.
    return {
      requestsPerSecond: requestsDone / (micros / 1e6),
      p50Ms: Math.round(p50 / 100) / 10,
      p99Ms: Math.round(p99 / 100) / 10,
      errors,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
