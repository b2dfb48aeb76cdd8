import type { AddressHistory } from '../types.ts';

const DAY_MS = 86_400_000;
const dayOf = (date: string) => Date.parse(`${date}T00:00:00Z`);

/** Each record's versions and labels as bars over the kept window, oldest day on the left. */
export function Timeline({ history }: { history: AddressHistory }) {
  const from = dayOf(history.window.from);
  // A bar covers whole days: its last day counts.
  const span = dayOf(history.window.to) + DAY_MS - from;
  const bar = (first: string, last: string) => ({
    left: `${((dayOf(first) - from) / span) * 100}%`,
    width: `${Math.max(((dayOf(last) + DAY_MS - dayOf(first)) / span) * 100, 0.5)}%`,
  });
  return (
    <div class="timeline">
      <p class="hint">
        {history.window.from} to {history.window.to}
      </p>
      {history.records.map((record) => (
        <div class="timeline-record" key={`${record.feed} ${record.key}`}>
          <h3>
            {record.key} <span class="muted">in {record.feed}</span>
          </h3>
          <ol class="lanes">
            {record.versions.map((v, i) => (
              <li class="lane">
                <span class="lane-name">version {i + 1}</span>
                <span class="lane-track">
                  <span class="bar version" style={bar(v.first, v.last)} title={`${v.first} to ${v.last}`} />
                </span>
                <span class="lane-dates">
                  {v.first} – {v.last}
                </span>
              </li>
            ))}
            {record.labels.map((l) => (
              <li class="lane">
                <span class="lane-name">
                  {l.kind}: {l.value}
                </span>
                <span class="lane-track">
                  <span class="bar label" style={bar(l.first_seen, l.last_seen)} title={`${l.first_seen} to ${l.last_seen}`} />
                </span>
                <span class="lane-dates">
                  {l.first_seen} – {l.last_seen}
                </span>
              </li>
            ))}
          </ol>
        </div>
      ))}
    </div>
  );
}
