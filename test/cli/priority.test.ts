import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { finished, jsonLines, runCli, spawnCli } from '../helpers/cli.ts';
import { SAMPLE_FEED, tempDir } from '../helpers/fixtures.ts';
import { niceIn } from '../helpers/proc.ts';

const niceOf = (pid: number): number => niceIn(`/proc/${pid}/stat`);

test('an import yields the CPU to the API: it runs at IPOID_IMPORT_NICE', async () => {
  const dir = tempDir();
  // A named pipe as the feed: the import waits on it, so its priority can be read while it runs.
  const feed = join(dir, 'feed.jsonl');
  execFileSync('mkfifo', [feed]);
  const child = spawnCli(['import', feed, '--feed-date', '2026-11-24'], {
    IPOID_DB_URL: `sqlite:${join(dir, 'ipoid.db')}`,
    IPOID_IMPORT_NICE: '7',
  });
  const done = finished(child);
  let nice = niceOf(child.pid!);
  for (const deadline = Date.now() + 30_000; nice !== 7 && Date.now() < deadline; nice = niceOf(child.pid!)) await delay(50);
  // Either way the pipe gets its line: the import must not wait on it for ever.
  createWriteStream(feed).end('{"ip":"192.0.2.1","risks":["TUNNEL"]}\n');
  const result = await done;
  assert.equal(nice, 7);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(jsonLines(result.stdout)[0]?.inserted, 1);
});

test('IPOID_IMPORT_NICE out of 0..19 is refused before anything is imported', async () => {
  const dir = tempDir();
  const result = await runCli(['import', SAMPLE_FEED], { IPOID_DB_URL: `sqlite:${join(dir, 'ipoid.db')}`, IPOID_IMPORT_NICE: '20' });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /IPOID_IMPORT_NICE must be a whole number from 0 .* to 19 .*, not "20"/);
});
