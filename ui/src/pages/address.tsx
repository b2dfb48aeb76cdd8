import { ApiError, getJson } from '../api.ts';
import { ErrorMessage, Loading } from '../components/message.tsx';
import { Timeline } from '../components/timeline.tsx';
import type { AddressHistory, Info, IpoidRecord, SpurContext } from '../types.ts';
import { useAnswer } from '../use-answer.ts';

interface Detail {
  record: IpoidRecord | null;
  context: SpurContext | null;
  /** Null when the address has no history (none kept, or not in the data during the window). */
  history: AddressHistory | null;
  /** The days of history IPoid keeps (0: none). */
  historyDays: number;
}

/** A 404 is an answer here: the address is not in the data. */
const unlessUnknown = <T,>(asked: Promise<T>): Promise<T | null> =>
  asked.catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  });

async function detailOf(ip: string): Promise<Detail> {
  const path = encodeURIComponent(ip);
  const [answer, context, history, info] = await Promise.all([
    unlessUnknown(getJson<Record<string, IpoidRecord>>(`/feed/v1/ip/${path}`)),
    unlessUnknown(getJson<SpurContext>(`/v2/context/${path}`)),
    unlessUnknown(getJson<AddressHistory>(`/feed/v1/ip/${path}/history`)),
    getJson<Info>('/_info'),
  ]);
  // With no history kept the route still answers today's day alone: not a history to draw.
  const kept = info.historyDays > 0 ? history : null;
  return { record: answer ? (Object.values(answer)[0] ?? null) : null, context, history: kept, historyDays: info.historyDays };
}

const FIELDS: [label: string, value: (r: IpoidRecord) => string][] = [
  ['organization', (r) => r.org],
  ['operator', (r) => r.tunnels.join(', ')],
  ['risks', (r) => r.risks.join(', ')],
  ['proxies', (r) => r.proxies.join(', ')],
  ['behaviors', (r) => r.behaviors.join(', ')],
  ['client types', (r) => r.types.join(', ')],
  ['clients', (r) => String(r.client_count)],
  ['client countries', (r) => String(r.countries)],
  ['country', (r) => r.location_country],
  ['last changed', (r) => new Date(r.last_updated * 1000).toISOString().slice(0, 10)],
];

export function AddressPage({ ip }: { ip: string }) {
  const detail = useAnswer(() => detailOf(ip), [ip]);
  return (
    <section aria-labelledby="address-title">
      <h1 id="address-title">{ip}</h1>
      {detail.state === 'loading' && <Loading />}
      {detail.state === 'failed' && <ErrorMessage error={detail.error} />}
      {detail.state === 'done' && <DetailView detail={detail.value} />}
    </section>
  );
}

const noHistory = (days: number) =>
  days === 0
    ? 'IPoid keeps no history (IPOID_HISTORY_DAYS is 0).'
    : `Not in the data on any day of the history kept (the last ${days.toLocaleString('en')} days).`;

function DetailView({ detail: { record, context, history, historyDays } }: { detail: Detail }) {
  return (
    <>
      {record ? (
        <dl class="fields">
          {record.network && (
            <>
              <dt>network</dt>
              <dd>{record.network}</dd>
            </>
          )}
          {FIELDS.map(([label, value]) => (
            <>
              <dt>{label}</dt>
              <dd>{value(record) || '—'}</dd>
            </>
          ))}
        </dl>
      ) : (
        <p class="message">Not in the data now.</p>
      )}
      <h2>History</h2>
      {history ? <Timeline history={history} /> : <p class="message">{noHistory(historyDays)}</p>}
      {context && (
        <>
          <h2>Stored record (Spur object)</h2>
          <pre class="json">{JSON.stringify(context, null, 2)}</pre>
        </>
      )}
    </>
  );
}
