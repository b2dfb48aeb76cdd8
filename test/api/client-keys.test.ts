import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jsonLinesFeed } from '../helpers/fixtures.ts';
import { forEachStore } from '../helpers/stores.ts';
import { assertError, request, startApi, type TestApi } from '../helpers/http.ts';

const FEED = [
  { ip: '217.198.37.130', organization: 'Mapped' },
  { ip: '1.2.3.4', organization: 'Four' },
  { ip: '::102:304', organization: 'Compatible' },
  { ip: '0:0:1:0:0:1:1:1', organization: 'Tie' },
  { ip: '2001:db8::1:0:0:1', organization: 'Doc' },
  { network: '2001:db8:aaaa::/48', organization: 'Network' },
];

// [spelling sent, key MediaWiki's IPUtils::prettifyIP gives it, whose data answers]
const SPELLINGS: [spelling: string, key: string, org: string][] = [
  ['217.198.37.130', '217.198.37.130', 'Mapped'],
  ['217.198.037.130', '217.198.37.130', 'Mapped'],
  ['::FFFF:d9c6:2582', '::ffff:d9c6:2582', 'Mapped'],
  ['::ffff:217.198.37.130', '::ffff:d9c6:2582', 'Mapped'],
  ['0:0:0:0:0:FFFF:D9C6:2582', '::ffff:d9c6:2582', 'Mapped'],
  ['0000:0000:0000:0000:0000:ffff:d9c6:2582', '::ffff:d9c6:2582', 'Mapped'],
  ['1.2.3.4', '1.2.3.4', 'Four'],
  ['::ffff:1.2.3.4', '::ffff:102:304', 'Four'],
  ['::1.2.3.4', '::102:304', 'Compatible'],
  ['::102:304', '::102:304', 'Compatible'],
  ['0:0:0:0:0:0:102:0304', '::102:304', 'Compatible'],
  ['0:0:1:0:0:1:1:1', '0:0:1::1:1:1', 'Tie'],
  ['::1:0:0:1:1:1', '0:0:1::1:1:1', 'Tie'],
  ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'Doc'],
  ['2001:db8:0:0:1::1', '2001:db8::1:0:0:1', 'Doc'],
  ['2001:DB8:AAAA:0:0:0:0:5', '2001:db8:aaaa::5', 'Network'],
];

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    const feed = jsonLinesFeed(FEED, 'keys.jsonl');
    api = await startApi(target, { feed });
  });
  after(async () => api.close());

  const ipoid = (spelling: string) => request(`${api.base}/feed/v1/ip/${encodeURIComponent(spelling)}`);

  test("/feed/v1/ip answers under the key prettifyIP gives the spelling, with the address's data", async () => {
    for (const [spelling, key, org] of SPELLINGS) {
      const answer = await ipoid(spelling);
      assert.equal(answer.status, 200, `${spelling}: ${answer.text}`);
      assert.deepEqual(Object.keys(answer.json), [key], spelling);
      assert.equal(answer.json[key].ip, key, spelling);
      assert.equal(answer.json[key].org, org, spelling);
      assert.equal(answer.json[key].network, org === 'Network' ? '2001:db8:aaaa::/48' : undefined, spelling);
    }
  });

  test('the 404 names the key the client asked by', async () => {
    assertError(await ipoid('::FFFF:808:808'), 404, /^::ffff:808:808 is not in the data$/);
    assertError(await ipoid('::8.8.8.8'), 404, /^::808:808 is not in the data$/);
    assertError(await ipoid('008.8.8.8'), 404, /^8\.8\.8\.8 is not in the data$/);
    assertError(
      await request(`${api.base}/v2/context/${encodeURIComponent('::FFFF:8.8.8.8')}`),
      404,
      /^::ffff:808:808 is not in the data$/,
    );
  });

  test('the batch answers one key per distinct prettified spelling', async () => {
    const ips = [
      '217.198.37.130',
      '::ffff:d9c6:2582',
      '::FFFF:217.198.37.130',
      '::1.2.3.4',
      '::102:304',
      '1.2.3.4',
      '8.8.8.8',
      '::ffff:808:808',
    ];
    const answer = await request(`${api.base}/feed/v1/ips`, { method: 'POST', body: { ips } });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(Object.keys(answer.json).sort(), [
      '1.2.3.4',
      '217.198.37.130',
      '8.8.8.8',
      '::102:304',
      '::ffff:808:808',
      '::ffff:d9c6:2582',
    ]);
    const { ip: _v4, ...v4 } = answer.json['217.198.37.130'];
    const { ip: mappedIp, ...mapped } = answer.json['::ffff:d9c6:2582'];
    assert.equal(mappedIp, '::ffff:d9c6:2582');
    assert.deepEqual(mapped, v4, 'two keys, the same data');
    assert.equal(answer.json['::102:304'].org, 'Compatible');
    assert.equal(answer.json['1.2.3.4'].org, 'Four');
    assert.equal(answer.json['8.8.8.8'], null);
    assert.equal(answer.json['::ffff:808:808'], null);
    for (const [spelling, key] of SPELLINGS) {
      const single = await request(`${api.base}/feed/v1/ips`, { method: 'POST', body: { ips: [spelling] } });
      assert.deepEqual(single.json, (await ipoid(spelling)).json, spelling);
      assert.deepEqual(Object.keys(single.json), [key]);
    }
  });

  test('stored keys stay canonical: the list and _search _id', async () => {
    const listed = (await request(`${api.base}/feed/v1/ips`)).json.ips.map((i: { ip: string }) => i.ip);
    // Address order: IPv4 sorts as ::ffff:a.b.c.d.
    assert.deepEqual(listed, ['::102:304', '1.2.3.4', '217.198.37.130', '::1:0:0:1:1:1', '2001:db8::1:0:0:1', '2001:db8:aaaa::/48']);
    const search = await request(`${api.base}/ipoid/_search`, { method: 'POST', body: { query: { term: { ip: '::FFFF:d9c6:2582' } } } });
    assert.equal(search.json.hits.hits[0]._id, '217.198.37.130');
    assert.equal(search.json.hits.hits[0]._source.ip, '217.198.37.130');
  });
});
