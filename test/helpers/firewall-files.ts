import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNetwork } from '../../src/feed/ip.ts';
import { tempDir } from './fixtures.ts';

/*
 * Readers of the ipset and nftables files IPoid writes, by the grammar of exactly what it
 * emits: every line must match, or the reader throws. `ipset restore` has no dry run and
 * `nft -c` needs CAP_NET_ADMIN (it reads the kernel's ruleset), so the real tools cannot
 * check a file unprivileged; nftReal below runs nft when it can.
 */

const NAME = '[A-Za-z][A-Za-z0-9_]*';
const IPV4 = '(?:\\d{1,3}\\.){3}\\d{1,3}(?:/\\d{1,2})?';
const IPV6 = '[0-9a-f:]*:[0-9a-f:]*(?:/\\d{1,3})?';

/** A set's family, and its entries as CIDR texts (single addresses without a length) in file order. */
export interface FirewallSet {
  family: 4 | 6;
  entries: string[];
}

/** A valid address or network of the family, in canonical text: parseNetwork refuses anything else. */
function checkedEntry(text: string, family: 4 | 6): string {
  const full = text.includes('/') ? text : `${text}/${family === 4 ? 32 : 128}`;
  const network = parseNetwork(full);
  assert.equal(network.family, family, `${text} in a family ${family} set`);
  assert.equal(network.text, full, `${text} is canonical, host bits clear`);
  return text;
}

/** An `ipset restore` file: `create NAME hash:net family inet|inet6 maxelem N -exist` lines, then `add NAME CIDR -exist` lines. */
export function readIpset(text: string): Map<string, FirewallSet & { maxelem: number }> {
  const sets = new Map<string, FirewallSet & { maxelem: number }>();
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    const create = new RegExp(`^create (${NAME}) hash:net family (inet6?) maxelem (\\d+) -exist$`).exec(line);
    if (create) {
      assert.ok(![...sets.values()].some((set) => set.entries.length > 0), 'every create comes before any add');
      assert.ok(!sets.has(create[1]!), `set ${create[1]} created once`);
      assert.ok(create[1]!.length <= 31, "ipset's names have at most 31 characters");
      sets.set(create[1]!, { family: create[2] === 'inet' ? 4 : 6, maxelem: Number(create[3]), entries: [] });
      continue;
    }
    const add = new RegExp(`^add (${NAME}) (${IPV4}|${IPV6}) -exist$`).exec(line);
    assert.ok(add, `ipset line: ${JSON.stringify(line)}`);
    const set = sets.get(add[1]!);
    assert.ok(set, `add to a created set: ${line}`);
    set.entries.push(checkedEntry(add[2]!, set.family));
  }
  for (const [name, set] of sets) assert.ok(set.entries.length <= set.maxelem, `${name} within its maxelem`);
  return sets;
}

/**
 * An `nft -f` file: `table inet NAME {` with interval sets of ipv4_addr or ipv6_addr, `}`,
 * `flush set inet NAME SET` for each, then `add element inet NAME SET { CIDR, … }` lines.
 */
export function readNft(text: string): { table: string; sets: Map<string, FirewallSet> } {
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  const table = new RegExp(`^table inet (${NAME}) \\{$`).exec(lines.shift() ?? '')?.[1];
  assert.ok(table, 'begins with the table');
  const sets = new Map<string, FirewallSet>();
  while (lines[0] !== '}') {
    const [open, type, flags, close] = lines.splice(0, 4);
    const name = new RegExp(`^\\tset (${NAME}) \\{$`).exec(open ?? '')?.[1];
    const family = /^\t\ttype ipv([46])_addr$/.exec(type ?? '')?.[1];
    assert.ok(
      name && family && flags === '\t\tflags interval' && close === '\t}',
      `set definition: ${JSON.stringify([open, type, flags, close])}`,
    );
    sets.set(name, { family: Number(family) as 4 | 6, entries: [] });
  }
  lines.shift();
  for (const name of sets.keys()) assert.equal(lines.shift(), `flush set inet ${table} ${name}`);
  for (const line of lines) {
    const add = new RegExp(`^add element inet ${table} (${NAME}) \\{ (.+) \\}$`).exec(line);
    assert.ok(add, `nft line: ${JSON.stringify(line)}`);
    const set = sets.get(add[1]!);
    assert.ok(set, `add to a defined set: ${line}`);
    for (const element of add[2]!.split(', ')) set.entries.push(checkedEntry(element, set.family));
  }
  return { table, sets };
}

/** nft -c can check a file here: nft is installed and may read the kernel's ruleset (CAP_NET_ADMIN). */
export function nftCanCheck(): boolean {
  const probe = spawnSync('nft', ['-c', '-f', '-'], { input: 'table inet ipoid_probe {\n}\n' });
  return probe.status === 0;
}

/** nft's own check of the file (nothing is applied): its exit status and messages. */
export function nftCheck(text: string): { status: number | null; stderr: string } {
  const path = join(tempDir(), 'export.nft');
  writeFileSync(path, text);
  const run = spawnSync('nft', ['-c', '-f', path], { encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr };
}
