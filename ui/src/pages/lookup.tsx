import { useEffect, useReducer } from 'preact/hooks';
import { ApiError, postJson } from '../api.ts';
import { ErrorMessage } from '../components/message.tsx';
import { download, toCsv } from '../csv.ts';
import { entriesOf, MAX_ENTRIES, tooLong } from '../entries.ts';
import { href } from '../router.ts';
import type { IpoidRecord, SpurContext } from '../types.ts';

/** One looked-up address: its record (null when unknown) and the tunnel types of its Spur object. */
interface Row {
  ip: string;
  record: IpoidRecord | null;
  tunnelTypes: string[];
}

interface Result {
  rows: Row[];
  invalid: { text: string; reason: string }[];
}

const COLUMNS = [
  'address',
  'known',
  'operator',
  'tunnel type',
  'risks',
  'proxies',
  'behaviors',
  'client types',
  'clients',
  'country',
  'organization',
  'network',
];

const cells = ({ ip, record, tunnelTypes }: Row): string[] =>
  record
    ? [
        ip,
        'yes',
        record.tunnels.join(' | '),
        tunnelTypes.join(' | '),
        record.risks.join(' | '),
        record.proxies.join(' | '),
        record.behaviors.join(' | '),
        record.types.join(' | '),
        String(record.client_count),
        record.location_country,
        record.org,
        record.network ?? '',
      ]
    : [ip, 'no', '', '', '', '', '', '', '', '', '', ''];

/** Looks up the valid entries; entries the API refuses are taken out and listed with its reason. */
async function lookUp(entries: string[]): Promise<Result> {
  let invalid = tooLong(entries);
  let asked = entries.filter((entry) => !invalid.some(({ text }) => text === entry));
  let records: Record<string, IpoidRecord | null> = {};
  for (;;) {
    try {
      records = asked.length ? await postJson<Record<string, IpoidRecord | null>>('/feed/v1/ips', { ips: asked }) : {};
      break;
    } catch (err) {
      if (!(err instanceof ApiError) || err.invalid.length === 0) throw err;
      const refused = new Set(err.invalid.map(({ text }) => text));
      const left = asked.filter((entry) => !refused.has(entry));
      // A refusal that names none of the entries sent would be asked again for ever.
      if (left.length === asked.length) throw err;
      invalid = [...invalid, ...err.invalid];
      asked = left;
    }
  }
  const known = Object.keys(records).filter((ip) => records[ip]);
  const contexts = known.length ? await postJson<Record<string, SpurContext | null>>('/v2/context', { ips: known }) : {};
  const rows = Object.entries(records).map(([ip, record]) => ({
    ip,
    record,
    tunnelTypes: [...new Set((contexts[ip]?.tunnels ?? []).flatMap((t) => (t.type ? [t.type] : [])))],
  }));
  return { rows, invalid };
}

/**
 * The page's state outlives the page: going to an address's detail and back, or entering a
 * token, shows the same entries and table, and a lookup still running when the page was left
 * shows its answer when it comes (kept in this tab's memory only; a reload forgets).
 */
interface LookupState {
  text: string;
  busy: boolean;
  result: Result | null;
  error: unknown;
  copied: boolean;
}
const state: LookupState = { text: '', busy: false, result: null, error: null, copied: false };
const shown = new Set<() => void>();
function update(changes: Partial<LookupState>): void {
  Object.assign(state, changes);
  for (const render of shown) render();
}
// One lookup at a time: `busy` is set before the first await, and a submit while busy does nothing.
async function run(entries: string[]): Promise<void> {
  update({ busy: true, error: null, copied: false });
  try {
    update({ result: await lookUp(entries), busy: false });
  } catch (err) {
    update({ result: null, error: err, busy: false });
  }
}

// Copying needs the Clipboard API, which browsers give only to secure pages (HTTPS or localhost).
const canCopy = () => typeof navigator.clipboard?.writeText === 'function';

const summaryOf = ({ rows, invalid }: Result) =>
  `${rows.filter((r) => r.record).length} known, ${rows.filter((r) => !r.record).length} unknown` +
  (invalid.length > 0 ? `, ${invalid.length} invalid` : '');

export function LookupPage() {
  const [, rendered] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const render = () => rendered(undefined);
    shown.add(render);
    return () => void shown.delete(render);
  }, []);
  const { text, busy, result, error, copied } = state;
  const entries = entriesOf(text);
  const tooMany = entries.length > MAX_ENTRIES;
  const submit = () => {
    if (!busy && entries.length > 0 && !tooMany) void run(entries);
  };
  // After a token was asked for, the lookup it interrupted runs again.
  useEffect(() => {
    if (error instanceof ApiError && error.status === 401) submit();
  }, []);
  const csv = () => toCsv(COLUMNS, result?.rows.map(cells) ?? []);
  const copy = () =>
    navigator.clipboard.writeText(csv()).then(
      () => update({ copied: true }),
      () => update({ error: 'The browser refused to copy: use Download CSV instead.' }),
    );

  return (
    <section aria-labelledby="lookup-title">
      <h1 id="lookup-title">Look up addresses</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
        class="lookup-form"
      >
        <label for="entries">
          One address, or up to {MAX_ENTRIES.toLocaleString('en')}, separated by anything (spaces, lines, commas…), in any spelling
        </label>
        <textarea
          id="entries"
          rows={6}
          value={text}
          spellcheck={false}
          onInput={(e) => update({ text: e.currentTarget.value })}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              submit();
            }
          }}
          placeholder={'1.1.1.1\n2001:db8::1, 203.0.113.7'}
        />
        <div class="row">
          <button type="submit" disabled={busy || entries.length === 0 || tooMany}>
            {busy ? 'Looking up…' : 'Look up'}
          </button>
          <span class="hint">
            {entries.length} {entries.length === 1 ? 'entry' : 'entries'}
            {tooMany && ` — at most ${MAX_ENTRIES.toLocaleString('en')}`} · Ctrl+Enter
          </span>
        </div>
      </form>
      {/* Always present, so that screen readers announce what it says as it changes. */}
      <p class="sr-only" role="status">
        {busy ? 'Looking up…' : copied ? 'Copied' : result ? summaryOf(result) : ''}
      </p>
      {error !== null && <ErrorMessage error={error} />}
      {result && (
        <>
          <div class="row">
            <p class="summary">{summaryOf(result)}</p>
            {canCopy() && (
              <button type="button" onClick={() => void copy()} disabled={result.rows.length === 0}>
                {copied ? 'Copied' : 'Copy CSV'}
              </button>
            )}
            <button
              type="button"
              onClick={() => download(new Blob([csv()], { type: 'text/csv' }), 'ipoid-lookup.csv')}
              disabled={result.rows.length === 0}
            >
              Download CSV
            </button>
          </div>
          {result.rows.length > 0 && <ResultTable rows={result.rows} />}
          {result.invalid.length > 0 && <InvalidTable invalid={result.invalid} />}
        </>
      )}
    </section>
  );
}

function ResultTable({ rows }: { rows: Row[] }) {
  return (
    <div class="table-scroll">
      <table class="results">
        <caption>Addresses looked up</caption>
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const [ip, known, ...rest] = cells(row);
            return (
              <tr class={row.record ? 'known' : 'unknown'} data-ip={ip}>
                <th scope="row">
                  <a href={href(`/ip/${ip}`)}>{ip}</a>
                </th>
                <td>{row.record ? known : <span class="tag muted">unknown</span>}</td>
                {rest.map((value) => (
                  <td>{value}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function InvalidTable({ invalid }: { invalid: Result['invalid'] }) {
  return (
    <table class="invalid">
      <caption>Not addresses</caption>
      <thead>
        <tr>
          <th scope="col">entry</th>
          <th scope="col">why</th>
        </tr>
      </thead>
      <tbody>
        {invalid.map(({ text, reason }) => (
          <tr>
            <td>
              <code>{text}</code>
            </td>
            <td>{reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
