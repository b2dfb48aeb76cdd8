import { useEffect, useRef, useState } from 'preact/hooks';
import { call, getJson, withQuery } from '../api.ts';
import { ErrorMessage, Loading } from '../components/message.tsx';
import { download, received } from '../csv.ts';
import { href, type Route } from '../router.ts';
import type { ListPage } from '../types.ts';
import { useAnswer } from '../use-answer.ts';

const PAGE_SIZE = '50';
/** The route's query parameters that are not label filters. */
const NOT_FILTERS = new Set(['prefix', 'cursor']);

/** The addresses carrying a label (or several), inside a prefix, a page at a time. */
export function ListPage({ route }: { route: Route }) {
  const filters = [...route.query].filter(([name]) => !NOT_FILTERS.has(name));
  const prefix = route.query.get('prefix') ?? undefined;
  const cursor = route.query.get('cursor') ?? undefined;
  const query = new URLSearchParams(filters);
  if (prefix) query.set('prefix', prefix);
  const page = useAnswer(
    () => getJson<ListPage>(`/feed/v1/ips?${query}&limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    [query.toString(), cursor],
  );
  const [prefixText, setPrefixText] = useState(prefix ?? '');
  const [exporting, setExporting] = useState<string | null>(null);
  const [exportError, setExportError] = useState<unknown>(null);
  // Pairs, not an object: a label kind may be filtered on twice (risk=A&risk=B).
  const routeWith = (changes: { prefix?: string | undefined; cursor?: string | undefined }) =>
    href('/list', [...filters, ['prefix', 'prefix' in changes ? changes.prefix : prefix], ['cursor', changes.cursor]]);
  const fileName = (format: string) =>
    `ipoid-${[...filters, ...(prefix ? [['in', prefix]] : [])].map(([n, v]) => `${n}-${v}`).join('-') || 'all'}.${format}`.replace(
      /[^\w.-]+/g,
      '_',
    );

  // An export stops when its page is left: it would be saved after the user moved on.
  const leaving = useRef(new AbortController());
  useEffect(() => () => leaving.current.abort(), []);

  const exportAs = async (format: 'ndjson' | 'csv') => {
    setExportError(null);
    setExporting('starting…');
    try {
      const answer = await call(withQuery('/feed/v1/ips', [...query, ['format', format]]), { signal: leaving.current.signal });
      download(await received(answer, (bytes) => setExporting(`${(bytes / 1e6).toFixed(1)} MB received`)), fileName(format));
    } catch (err) {
      if (!leaving.current.signal.aborted) setExportError(err);
    } finally {
      if (!leaving.current.signal.aborted) setExporting(null);
    }
  };

  return (
    <section aria-labelledby="list-title">
      <h1 id="list-title">{filters.map(([name, value]) => `${name}=${value}`).join(', ') || 'All records'}</h1>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          location.hash = routeWith({ prefix: prefixText.trim() || undefined, cursor: undefined });
        }}
      >
        <label for="prefix">Inside the prefix</label>
        <input id="prefix" value={prefixText} placeholder="203.0.113.0/24" onInput={(e) => setPrefixText(e.currentTarget.value)} />
        <button type="submit">Filter</button>
        <span class="spacer" />
        <button type="button" disabled={exporting !== null} onClick={() => void exportAs('ndjson')}>
          Export NDJSON
        </button>
        <button type="button" disabled={exporting !== null} onClick={() => void exportAs('csv')}>
          Export CSV
        </button>
        <span class="hint" role="status">
          {exporting
            ? `Exporting: ${exporting}`
            : 'An export is received by this tab, then saved: for millions of records, use ipoid export or curl.'}
        </span>
      </form>
      {exportError !== null && <ErrorMessage error={exportError} />}
      {page.state === 'loading' && <Loading />}
      {page.state === 'failed' && <ErrorMessage error={page.error} />}
      {page.state === 'done' && (
        <>
          <div class="table-scroll">
            <table class="results">
              <caption>{page.value.ips.length === 0 ? 'No records match' : `Records ${cursor ? '(a later page)' : ''}`}</caption>
              <thead>
                <tr>
                  {['address', 'feed', 'operator', 'risks', 'proxies', 'client types', 'clients', 'country', 'organization'].map((c) => (
                    <th scope="col">{c}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {page.value.ips.map((r) => (
                  <tr key={`${r.feed} ${r.ip}`}>
                    <th scope="row">
                      <a href={href(`/ip/${r.ip.replace(/\/\d+$/, '')}`)}>{r.ip}</a>
                    </th>
                    <td>{r.feed}</td>
                    <td>{r.tunnels.join(', ')}</td>
                    <td>{r.risks.join(', ')}</td>
                    <td>{r.proxies.join(', ')}</td>
                    <td>{r.types.join(', ')}</td>
                    <td class="num">{r.client_count}</td>
                    <td>{r.location_country}</td>
                    <td>{r.org}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="row pager" aria-label="Pages">
            {cursor && <a href={routeWith({ cursor: undefined })}>First page</a>}
            {page.value.next && <a href={routeWith({ cursor: page.value.next })}>Next page</a>}
          </nav>
        </>
      )}
    </section>
  );
}
