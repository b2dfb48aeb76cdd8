/*
 * mmdb export benchmark: the memory and time of a MaxMind DB file of `networks` generated
 * records, without a store (the module alone). The records are random IPv4 addresses and
 * (a share `ipv6`, half by default) random IPv6 /64s, with labels drawn from small sets and counts that vary, so that
 * most networks carry a data map of their own (the costly case for the data section).
 * The memory is what the writer holds when its first chunk is out (the whole tree and data
 * section; the peak), after a GC, against the same measure before it started.
 *
 *   npm run bench:mmdb -- --networks 1000000 [--ipv6 0.5]
 */
import { parseArgs } from 'node:util';
import { mmdbFile } from '../src/export/mmdb/index.ts';
import { FEED_TYPES } from '../src/feed/feed-types.ts';
import { keyText } from '../src/feed/ip.ts';
import { createRandom } from '../src/generator/random.ts';
import type { StoredRecord } from '../src/store/types.ts';
import { bytes, count, machine, markdownTable, seconds } from './report.ts';

const { values } = parseArgs({
  options: {
    networks: { type: 'string', default: '1000000' },
    ipv6: { type: 'string', default: '0.5' },
    seed: { type: 'string', default: '7' },
  },
});
const networks = Number(values.networks);
const ipv6Share = Number(values.ipv6);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const random = createRandom(Number(values.seed));
const RISKS = ['TUNNEL', 'CALLBACK_PROXY', 'GEO_MISMATCH', 'LOGIN_BRUTEFORCE', 'WEB_SCRAPING'];
const OPERATORS = Array.from({ length: 200 }, (_, i) => `OPERATOR_${i}`);
const ORGS = Array.from({ length: 2000 }, (_, i) => `Organization ${i}`);

/** Records in the store's order: IPv4 (mapped, so first), then IPv6, each sorted by address. */
function generate(): StoredRecord[] {
  const v4 = new Set<number>();
  while (v4.size < networks * (1 - ipv6Share)) v4.add(random.int(0, 2 ** 32 - 1));
  const v6 = new Set<string>();
  while (v6.size < networks - v4.size)
    v6.add(
      random.int(0x2000_0000, 0x3fff_ffff).toString(16).padStart(8, '0') +
        random
          .int(0, 2 ** 32 - 1)
          .toString(16)
          .padStart(8, '0'),
    );
  const keys = [
    ...[...v4].sort((a, b) => a - b).map((n) => [n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255].join('.')),
    ...[...v6].sort().map((hex) => keyText(Buffer.from(hex.padEnd(32, '0'), 'hex'), 64)),
  ];
  return keys.map((key) => {
    const context = {
      organization: random.pick(ORGS),
      risks: RISKS.filter(() => random.chance(0.3)),
      tunnels: [{ operator: random.pick(OPERATORS), type: 'VPN' }],
      client: { count: random.int(0, 100), countries: random.int(0, 10), types: ['DESKTOP'] },
      location: { country: random.pick(['US', 'DE', 'FR', 'NL', 'JP']) },
    };
    return {
      feed: key.includes(':') ? FEED_TYPES[2] : FEED_TYPES[0],
      key,
      context,
      json: JSON.stringify(context),
      lastUpdated: 1_700_000_000 + random.int(0, 30) * 86_400,
    };
  });
}

const held = () => {
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  // The tree's typed arrays and the data section's Buffer are outside the heap, in arrayBuffers.
  return { heap: heapUsed, buffers: arrayBuffers };
};

const records = generate();
async function* input() {
  yield* records;
}

const before = held();
const started = performance.now();
let atFirstChunk: ReturnType<typeof held> | undefined;
let builtSeconds = 0;
let fileBytes = 0;
for await (const chunk of mmdbFile(input(), { description: 'bench', buildEpoch: new Date() })) {
  if (!atFirstChunk) {
    builtSeconds = (performance.now() - started) / 1000;
    atFirstChunk = held();
  }
  fileBytes += chunk.length;
}
const totalSeconds = (performance.now() - started) / 1000;
const heap = atFirstChunk!.heap - before.heap;
const buffers = atFirstChunk!.buffers - before.buffers;
const perMillion = (n: number) => bytes((n * 1e6) / networks);

console.log(
  markdownTable(
    ['networks', 'IPv6 /64 share', 'file', 'built in', 'written in', 'heap held', 'buffers held', 'held per 1M networks'],
    [
      [
        count(networks),
        String(ipv6Share),
        bytes(fileBytes),
        seconds(builtSeconds),
        seconds(totalSeconds),
        bytes(heap),
        bytes(buffers),
        perMillion(heap + buffers),
      ],
    ],
  ),
);
console.log(machine('not used'));
