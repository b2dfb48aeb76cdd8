import { useEffect, useState } from 'preact/hooks';
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
 * token, shows the same entries and table (kept in this tab's memory only; a reload forgets).
 */
const kept: { text: string; result: Result | null; failed: unknown } = { text: '', result: null, failed: null };
/** Each lookup's number: only the latest one's answer is shown. */
let lookups = 0;

// Copying needs the Clipboard API, which browsers give only to secure pages (HTTPS or localhost).
const canCopy = () => typeof navigator.clipboard?.writeText === 'function';

export function LookupPage() {
  const [text, setText] = useState(kept.text);
  const [busy, setBusy] = useState(false);
  const [{ result, error }, setShown] = useState({ result: kept.result, error: kept.failed });
  const [copied, setCopied] = useState(false);
  const entries = entriesOf(text);
  const tooMany = entries.length > MAX_ENTRIES;
  // Kept as it is set, not after a render: a 401 replaces this page by the token prompt before it renders again.
  const edit = (value: string) => setText((kept.text = value));
  const show = (shown: { result: Result | null; error: unknown }) => {
    kept.result = shown.result;
    kept.failed = shown.error;
    setShown(shown);
  };
  // After a token was asked for, the lookup it interrupted runs again.
  useEffect(() => {
    if (error instanceof ApiError && error.status === 401) void run();
  }, []);

  async function run() {
    if (busy || entries.length === 0 || tooMany) return;
    const mine = ++lookups;
    setBusy(true);
    show({ result, error: null });
    setCopied(false);
    try {
      const answer = await lookUp(entries);
      if (mine === lookups) show({ result: answer, error: null });
    } catch (err) {
      if (mine === lookups) show({ result: null, error: err });
    } finally {
      if (mine === lookups) setBusy(false);
    }
  }
  const csv = () => toCsv(COLUMNS, result?.rows.map(cells) ?? []);
  const copy = () =>
    navigator.clipboard.writeText(csv()).then(
      () => setCopied(true),
      () => show({ result, error: 'The browser refused to copy: use Download CSV instead.' }),
    );

  return (
    <section aria-labelledby="lookup-title">
      <h1 id="lookup-title">Look up addresses</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run();
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
          onInput={(e) => edit(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void run();
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
      {error !== null && <ErrorMessage error={error} />}
      {result && (
        <>
          <div class="row">
            <p class="summary">
              {result.rows.filter((r) => r.record).length} known, {result.rows.filter((r) => !r.record).length} unknown
              {result.invalid.length > 0 && `, ${result.invalid.length} invalid`}
            </p>
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
