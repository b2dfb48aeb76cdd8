import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { forEachStore } from '../helpers/stores.ts';
import { assertError, request, startApi, type TestApi } from '../helpers/http.ts';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8';

/** Accept header (null: none sent), and the type the list answers in. */
const CASES: [accept: string | null, type: 'application/json' | 'application/x-ndjson' | 'text/csv'][] = [
  [null, 'application/json'],
  ['', 'application/json'],
  ['*/*', 'application/json'],
  [BROWSER, 'application/json'],
  ['application/json', 'application/json'],
  ['text/csv', 'text/csv'],
  ['TEXT/CSV', 'text/csv'],
  ['application/x-ndjson', 'application/x-ndjson'],
  ['text/*', 'text/csv'],
  ['application/*', 'application/json'],
  ['text/csv;q=0, */*', 'application/json'],
  ['text/csv;q=0, application/x-ndjson', 'application/x-ndjson'],
  ['application/json;q=0.5, text/csv', 'text/csv'],
  ['text/csv;q=0.4, application/x-ndjson;q=0.8', 'application/x-ndjson'],
  ['application/*;q=0.5, text/csv;q=0.6', 'text/csv'],
  ['application/json;q=0, */*;q=0.1', 'application/x-ndjson'],
  ['text/html, text/csv;q=0.1', 'text/csv'],
];

forEachStore((target) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(target);
  });
  after(async () => api.close());

  const list = (query: string, accept: string | null) =>
    request(`${api.base}/feed/v1/ips?${query}`, { headers: accept === null ? {} : { accept } });

  test('the list answers the type Accept prefers, q-values, wildcards and q=0 honoured', async () => {
    for (const [accept, type] of CASES) {
      const answer = await list('', accept);
      assert.equal(answer.status, 200, `${accept}: ${answer.text.slice(0, 200)}`);
      assert.equal(answer.headers.get('content-type')?.split(';')[0], type, `Accept: ${accept}`);
    }
  });

  test('an Accept that admits none of the offered types is 406, naming them', async () => {
    for (const accept of [
      'text/html',
      'text/csv;q=0',
      'application/json;q=0',
      'image/*',
      'application/json;q=0, application/x-ndjson;q=0, text/csv;q=0',
    ]) {
      assertError(await list('', accept), 406, /application\/json, application\/x-ndjson, text\/csv/);
    }
  });

  test('the format parameter wins over Accept', async () => {
    const csv = await list('format=csv', 'text/html');
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    const json = await list('format=json', 'text/csv');
    assert.equal(json.status, 200);
    assert.ok(Array.isArray(json.json.ips));
    const ndjson = await list('format=ndjson', 'application/x-ndjson;q=0');
    assert.match(ndjson.headers.get('content-type') ?? '', /^application\/x-ndjson/);
  });
});
