import { useState } from 'preact/hooks';
import { getJson, withQuery } from '../api.ts';
import { ErrorMessage, Loading } from '../components/message.tsx';
import { href } from '../router.ts';
import type { LabelCount, Labels } from '../types.ts';
import { useAnswer } from '../use-answer.ts';

const signed = (n: number | undefined, sign: string) => (n ? `${sign}${n.toLocaleString('en')}` : '');

/** Every label kind with its values and counts, and their change since a chosen day. */
export function LabelsPage({ since }: { since: string | undefined }) {
  const labels = useAnswer(() => getJson<Labels>(withQuery('/feed/v1/labels', { since })), [since]);
  const [day, setDay] = useState(since ?? '');
  return (
    <section aria-labelledby="labels-title">
      <h1 id="labels-title">Labels</h1>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          location.hash = href('/labels', { since: day });
        }}
      >
        <label for="since">Change since the end of</label>
        <input id="since" type="date" value={day} onInput={(e) => setDay(e.currentTarget.value)} />
        <button type="submit">Compare</button>
        {since && <a href={href('/labels')}>Counts only</a>}
      </form>
      {labels.state === 'loading' && <Loading />}
      {labels.state === 'failed' && <ErrorMessage error={labels.error} />}
      {labels.state === 'done' && (
        <div class="label-kinds">
          {Object.entries(labels.value).map(([param, values]) => (
            <LabelKind key={param} param={param} values={values} since={since} />
          ))}
        </div>
      )}
    </section>
  );
}

function LabelKind({ param, values, since }: { param: string; values: LabelCount[]; since: string | undefined }) {
  return (
    <table class="label-kind">
      <caption>
        {param} <span class="muted">({values.length})</span>
      </caption>
      <thead>
        <tr>
          <th scope="col">value</th>
          <th scope="col" class="num">
            records
          </th>
          {since && (
            <>
              <th scope="col" class="num">
                on {since}
              </th>
              <th scope="col" class="num">
                since {since}
              </th>
            </>
          )}
        </tr>
      </thead>
      <tbody>
        {values.length === 0 && (
          <tr>
            <td colSpan={since ? 4 : 2} class="muted">
              none
            </td>
          </tr>
        )}
        {values.map((v) => (
          <tr key={v.value}>
            <td>
              <a href={href('/list', { [param]: v.value })}>{v.value}</a>
            </td>
            <td class="num">{v.count.toLocaleString('en')}</td>
            {since && (
              <>
                <td class="num">{(v.then ?? 0).toLocaleString('en')}</td>
                <td class="num">
                  {v.added || v.removed ? (
                    <>
                      <span class="added">{signed(v.added, '+')}</span> <span class="removed">{signed(v.removed, '−')}</span>
                    </>
                  ) : (
                    <span class="muted">no change</span>
                  )}
                </td>
              </>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
