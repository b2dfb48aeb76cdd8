import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { jsonLinesFeed } from '../helpers/fixtures.ts';
import { forEachStore } from '../helpers/stores.ts';
import { request, startApi, type TestApi } from '../helpers/http.ts';

// Cells a spreadsheet would run as formulas (OWASP's list of leading characters).
const FORMULAS = ['=HYPERLINK("http://evil.example","click")', '+SUM(1,2)', '-2+3', '@cmd', '\tTAB', '\rCR'];

const FEED = [
  { ip: '192.0.2.1', organization: FORMULAS[0], tunnels: [{ operator: FORMULAS[1], type: 'VPN' }], risks: [FORMULAS[2], 'TUNNEL'] },
  {
    ip: '192.0.2.2',
    organization: FORMULAS[3],
    location: { country: FORMULAS[4] },
    client: { types: [FORMULAS[5]], proxies: ['SAFE', '=NOT_FIRST'] },
  },
  { ip: '192.0.2.3', organization: 'Plain, with "quotes"', risks: ['TUNNEL'] },
];

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    const feed = jsonLinesFeed(FEED, 'formulas.jsonl');
    api = await startApi(target, { feed });
  });
  after(async () => api.close());

  test('CSV export neutralises formula-looking cells: prefixed with a quote mark and quoted', async () => {
    const answer = await request(`${api.base}/feed/v1/ips?format=csv`);
    assert.equal(answer.status, 200);
    // A strict RFC 4180 reader: every quote balanced, every row as wide as the header.
    const records: string[][] = parse(answer.text, { record_delimiter: '\r\n', relax_quotes: false, relax_column_count: false });
    const [header, ...rows] = records;
    const row = (ip: string) => Object.fromEntries(header!.map((column, i) => [column, rows.find((r) => r[0] === ip)![i]]));
    const first = row('192.0.2.1');
    assert.equal(first.org, `'${FORMULAS[0]}`);
    assert.equal(first.tunnels, `'${FORMULAS[1]}`);
    assert.equal(first.risks, `'${FORMULAS[2]}|TUNNEL`, 'arrays are joined first, then neutralised');
    const second = row('192.0.2.2');
    assert.equal(second.org, `'${FORMULAS[3]}`);
    assert.equal(second.location_country, `'${FORMULAS[4]}`);
    assert.equal(second.types, `'${FORMULAS[5]}`);
    assert.equal(second.proxies, 'SAFE|=NOT_FIRST', 'only a leading character makes a formula');
    assert.equal(row('192.0.2.3').org, 'Plain, with "quotes"');
    for (const cell of [header!, ...rows].flat()) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, JSON.stringify(cell));

    // On the wire, each neutralised cell is a quoted field starting with the quote mark.
    for (const formula of FORMULAS) assert.ok(answer.text.includes(`"'${formula.replaceAll('"', '""')}`), JSON.stringify(formula));
    assert.equal(answer.text.split('\r\n')[0], header!.join(','), 'the header row is plain: none of its names is a formula');
  });
});
