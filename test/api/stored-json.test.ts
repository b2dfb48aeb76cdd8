import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseIp } from '../../src/feed/ip.ts';
import { tempDir } from '../helpers/fixtures.ts';
import { forEachStore } from '../helpers/stores.ts';
import { request, startApi, type TestApi } from '../helpers/http.ts';

// Feed lines whose text a parse-and-print round trip would change: big integers, number
// spellings, unicode and other escapes, key order, spacing, unknown properties.
const LINES = {
  '192.0.2.50':
    '{"zeta":1,"ip":"192.0.2.50","alpha":{"big":12345678901234567890,"neg":-98765432109876543210},"one":1.0,"e":1e2,"E":2E-3,' +
    '"esc":"caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\/ \\t","client":{"count":3,"concentration":{"density":0.10}},"unknown":[1.50,true,null,{}]}',
  '192.0.2.51': '{ "ip" : "192.0.2.51" ,  "risks" : [ "TUNNEL" ] , "tag_metadata" : { "n" : 100000000000000000001 } }',
};

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    const feed = join(tempDir(), 'exact.jsonl');
    writeFileSync(feed, `${Object.values(LINES).join('\n')}\n`);
    api = await startApi(target, { feed });
  });
  after(async () => api.close());

  test('the store keeps each record as the exact text of its line', async () => {
    for (const [ip, line] of Object.entries(LINES)) {
      const [record] = await api.store.lookup(parseIp(ip));
      assert.equal(record?.json, line);
      assert.deepEqual(record?.context, JSON.parse(line));
    }
  });

  test('/v2/context answers the stored text as it is', async () => {
    for (const [ip, line] of Object.entries(LINES)) {
      const answer = await request(`${api.base}/v2/context/${ip}`);
      assert.equal(answer.status, 200);
      assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(answer.text, line);
    }
    assert.ok((await request(`${api.base}/v2/context/192.0.2.50`)).text.includes('12345678901234567890'));
  });

  test('_search embeds each _source as its stored text', async () => {
    for (const [ip, line] of Object.entries(LINES)) {
      const answer = await request(`${api.base}/ipoid/_search`, {
        method: 'POST',
        body: { query: { bool: { filter: [{ term: { ip } }] } } },
      });
      assert.equal(answer.status, 200);
      assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(
        answer.text,
        `{"hits":{"total":{"value":1,"relation":"eq"},"hits":[{"_index":"ipoid","_id":"${ip}","_source":${line}}]}}`,
      );
      assert.deepEqual(answer.json.hits.hits[0]._source, JSON.parse(line));
    }
    const none = await request(`${api.base}/ipoid/_search`, { method: 'POST', body: { query: { term: { ip: '8.8.8.8' } } } });
    assert.deepEqual(none.json, { hits: { total: { value: 0, relation: 'eq' }, hits: [] } });
  });
});
