import { useMemo } from 'preact/hooks';
import { getJson, withQuery } from '../api.ts';
import { Chart, type Series } from '../components/chart.tsx';
import { ErrorMessage, Loading } from '../components/message.tsx';
import { href } from '../router.ts';
import type { FeedInfo, ImportRun, Info } from '../types.ts';
import { useAnswer } from '../use-answer.ts';

const RUNS_SHOWN = '500';
const FEED_COLORS = ['#2563eb', '#d97706', '#059669', '#9333ea'];
const CHANGE_COLORS = { inserted: '#059669', updated: '#2563eb', deleted: '#dc2626' };

const hours = (seconds: number) => `${(seconds / 3600).toFixed(1)} h`;
const time = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
const duration = (seconds: number) => (seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`);

/** The runs of each feed and how fresh its data is. */
export function ImportsPage({ realtime, before }: { realtime: boolean; before: string | undefined }) {
  const answer = useAnswer(
    () =>
      Promise.all([
        getJson<Info>('/_info'),
        getJson<{ runs: ImportRun[]; next: string | null }>(
          withQuery('/feed/v1/imports', { limit: RUNS_SHOWN, kind: realtime ? undefined : 'full', before }),
        ),
      ]),
    [realtime, before],
  );
  return (
    <section aria-labelledby="imports-title">
      <h1 id="imports-title">Imports</h1>
      {answer.state === 'loading' && <Loading />}
      {answer.state === 'failed' && <ErrorMessage error={answer.error} />}
      {answer.state === 'done' && (
        <ImportsView
          info={answer.value[0]}
          runs={answer.value[1].runs}
          realtime={realtime}
          paged={before !== undefined}
          older={answer.value[1].next}
        />
      )}
    </section>
  );
}

interface RunsView {
  info: Info;
  runs: ImportRun[];
  realtime: boolean;
  /** A page of older runs, not the newest. */
  paged: boolean;
  /** The next older page's `before`, when there are older runs. */
  older: string | null;
}

function ImportsView({ info, runs, realtime, paged, older }: RunsView) {
  const kind = realtime ? '1' : undefined;
  return (
    <>
      <h2>Freshness</h2>
      <div class="feeds">
        {info.feeds.map((feed) => (
          <FeedCard key={feed.feed} feed={feed} staleAfter={info.staleAfterSeconds} />
        ))}
      </div>
      <RunCharts runs={runs} />
      <h2>Runs</h2>
      <p class="row">
        {realtime ? (
          <a href={href('/imports')}>Full imports only</a>
        ) : (
          <a href={href('/imports', { realtime: '1' })}>With realtime slots</a>
        )}
      </p>
      <RunTable runs={runs} paged={paged} />
      <nav class="row pager" aria-label="Pages">
        {paged && <a href={href('/imports', { realtime: kind })}>Newest runs</a>}
        {older && <a href={href('/imports', { realtime: kind, before: older })}>Older runs</a>}
      </nav>
    </>
  );
}

function FeedCard({ feed, staleAfter }: { feed: FeedInfo; staleAfter: number | null }) {
  const never = feed.ageSeconds === null;
  const stale = !never && staleAfter !== null && feed.ageSeconds! > staleAfter;
  return (
    <article class={`feed ${stale ? 'stale' : never ? 'never' : staleAfter === null ? 'unlimited' : 'fresh'}`} data-feed={feed.feed}>
      <h3>{feed.feed}</h3>
      {never ? (
        <p>never imported</p>
      ) : (
        <>
          <p>
            {staleAfter === null ? (
              <>{hours(feed.ageSeconds!)} old (no limit set)</>
            ) : (
              <>
                <strong>{stale ? 'stale' : 'fresh'}</strong>: {hours(feed.ageSeconds!)} old{' '}
                <span class="muted">(stale after {hours(staleAfter)})</span>
              </>
            )}
          </p>
          <p>
            {feed.records.toLocaleString('en')} records, feed of {feed.feedDate ?? 'unknown date'}
          </p>
          {feed.realtime && <p>realtime slot {time(feed.realtime.slot)}</p>}
        </>
      )}
      {feed.refused && <p class="error">refused: {feed.refused.error}</p>}
    </article>
  );
}

/** Stored records per feed, and what each run of each feed changed, oldest run on the left. */
function RunCharts({ runs }: { runs: ImportRun[] }) {
  const charts = useMemo(() => {
    const succeeded = runs.filter((r) => r.status === 'succeeded').reverse();
    const nameOf = (r: ImportRun) => (r.kind === 'realtime' && r.slot ? time(r.slot).slice(5, 16) : (r.feedDate ?? r.dataDate));
    const feeds = [...new Set(succeeded.map((r) => r.feed))];
    const records: Series[] = feeds.map((feed, i) => ({
      label: feed,
      color: FEED_COLORS[i % FEED_COLORS.length]!,
      values: succeeded.map((r) => (r.feed === feed ? r.records : null)),
    }));
    // Per feed: feeds differ by orders of magnitude, and two feeds' runs of one day would share a name.
    const changes = feeds.map((feed) => {
      const own = succeeded.filter((r) => r.feed === feed);
      // A day's updates and deletions are often equal (a churned key is both): the last is dashed.
      const series: Series[] = (['inserted', 'updated', 'deleted'] as const).map((change) => ({
        label: change,
        color: CHANGE_COLORS[change],
        values: own.map((r) => r[change]),
        dashed: change === 'deleted',
      }));
      return { feed, names: own.map(nameOf), series };
    });
    return { names: succeeded.map(nameOf), records, changes };
  }, [runs]);
  if (charts.names.length === 0) return <p class="message">No successful import yet.</p>;
  return (
    <div class="charts">
      <Chart title="Stored records per feed" names={charts.names} series={charts.records} />
      {charts.changes.map(({ feed, names, series }) => (
        <Chart key={feed} title={`Changes per run: ${feed}`} names={names} series={series} />
      ))}
    </div>
  );
}

function RunTable({ runs, paged }: { runs: ImportRun[]; paged: boolean }) {
  return (
    <div class="table-scroll">
      <table class="runs">
        <caption>{paged ? `${runs.length} older runs, newest first` : `The latest ${runs.length} runs, newest first`}</caption>
        <thead>
          <tr>
            {['feed', 'kind', 'feed date', 'started', 'duration', 'inserted', 'updated', 'deleted', 'records', 'skipped', 'status'].map(
              (c) => (
                <th scope="col">{c}</th>
              ),
            )}
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} class={run.status} data-run={run.id}>
              <td>{run.feed}</td>
              <td>{run.kind === 'realtime' && run.slot ? `slot ${time(run.slot)}` : run.kind}</td>
              <td>{run.feedDate ?? run.dataDate}</td>
              <td>{time(run.startedAt)}</td>
              <td class="num">{duration(run.seconds)}</td>
              <td class="num">{run.inserted.toLocaleString('en')}</td>
              <td class="num">{run.updated.toLocaleString('en')}</td>
              <td class="num">{run.deleted.toLocaleString('en')}</td>
              <td class="num">{run.records.toLocaleString('en')}</td>
              <td>
                {run.skipped === 0 ? (
                  '0'
                ) : (
                  <details>
                    <summary>{run.skipped.toLocaleString('en')}</summary>
                    <ul class="skipped">
                      {run.skippedSample.map((s) => (
                        <li>
                          line {s.line}: {s.reason}
                        </li>
                      ))}
                    </ul>
                  </details>
                )}
              </td>
              <td>
                <span class={`tag ${run.status}`}>{run.status}</span>
                {run.error && <p class="run-error">{run.error}</p>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
