/*
 * Micro-benchmark of a lookup's own work in the API process, without HTTP: parsing the
 * address (parseRequestedIp), finding its records in the lookup index, and shaping the answer
 * (ipoidAnswer, written as the API writes it: answersJson), over generated records held in an index built in this process. Prints
 * nanoseconds per operation.
 *
 *   npm run bench:hot-path -- [--records 100000] [--rounds 5]
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { answersJson } from '../src/api/answer-json.ts';
import { ipoidAnswer } from '../src/api/ipoid-shape.ts';
import { FEED_IDS } from '../src/feed/feed-types.ts';
import { parseRequestedIp } from '../src/feed/ip.ts';
import { readFeed } from '../src/feed/reader.ts';
import { runGenerate } from '../src/generator/index.ts';
import { IndexBuilder, LookupIndex } from '../src/lookup/lookup-index.ts';
import type { DataRow } from '../src/store/rows.ts';
import { OUT } from './feeds.ts';
import { markdownTable } from './report.ts';

const { values } = parseArgs({ options: { records: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' } } });
const records = Number(values.records);
const feed = join(OUT, `hot-path-${records}.json.gz`);
await runGenerate({ count: records, seed: 7, out: feed });

const rows: DataRow[] = [];
for await (const line of readFeed(feed)) {
  if (!line.ok) continue;
  const { address, json } = line.record;
  rows.push({
    ip: address.bytes,
    prefix_len: address.prefixLen,
    feed_id: FEED_IDS.anonymous,
    ip_text: address.text,
    context: json,
    last_updated: 1,
  });
}
// The store scans in key order.
rows.sort((a, b) => Buffer.compare(a.ip, b.ip) || a.prefix_len - b.prefix_len);
const builder = new IndexBuilder();
for (const row of rows) builder.add(row);
const index = new LookupIndex(builder.finish([], { shared: true }));
// Every fifth address unknown, as in bench:api.
const texts = rows.map((row, i) => (i % 5 === 4 ? `10.${i % 256}.${(i >> 8) % 256}.${i % 7}` : row.ip_text.split('/')[0]!));

function timed(name: string, op: (text: string) => unknown): string[] {
  let best = Infinity;
  let sink = 0;
  for (let round = 0; round < Number(values.rounds); round++) {
    const started = process.hrtime.bigint();
    for (const text of texts) sink += op(text) ? 1 : 0;
    best = Math.min(best, Number(process.hrtime.bigint() - started) / texts.length);
  }
  if (sink < 0) console.log(sink);
  return [name, `${best.toFixed(0)} ns`];
}

const parsed = texts.map((text) => parseRequestedIp(text));
const found = parsed.map(({ address }) => index.lookup(address));
const results = [
  timed('parseRequestedIp', (text) => parseRequestedIp(text)),
  timed('index.lookup', (text) => index.lookup(parseRequestedIp(text).address)),
  ((): string[] => {
    let i = 0;
    return timed('ipoidAnswer + answersJson', () => {
      const records = found[i]!;
      const key = parsed[i++ % parsed.length]!.key;
      i %= parsed.length;
      return records.length ? answersJson([[key, ipoidAnswer(records, key)]]) : '';
    });
  })(),
];
console.log(
  `\n${records.toLocaleString('en')} records in the index, ${texts.length.toLocaleString('en')} lookups a round, best of ${values.rounds}`,
);
console.log(markdownTable(['operation', 'per lookup'], results));
