import { feedName, type FeedType } from '../feed/feed-types.ts';
import { addDays, dateOfDay, type FeedDay } from './feed-day.ts';
import { InputError } from '../errors.ts';

/** A feed day with data: the last successful import of that feed on that day. */
export interface DataDay {
  feed: FeedType;
  day: FeedDay;
  /** Records the feed held after it. */
  records: number;
  /** Every run of the day kept the states it replaced; the days before one that did not cannot be answered. */
  kept: boolean;
}

/** The feed days history answers for: from the first kept day to the newest import's. */
export interface HistoryWindow {
  from: FeedDay;
  to: FeedDay;
}

/**
 * The kept window: `keepDays` days up to the newest feed day any feed was imported for, but
 * not before the first import, nor before the last day of a run that kept no history (an
 * import before the upgrade, or with IPOID_HISTORY_DAYS=0). Null before any import.
 */
export function historyWindow(days: readonly DataDay[], keepDays: number): HistoryWindow | null {
  if (days.length === 0) return null;
  const to = Math.max(...days.map((d) => d.day));
  const first = Math.min(...days.map((d) => d.day));
  const unkept = days.filter((d) => !d.kept).map((d) => d.day);
  return { from: Math.max(first, addDays(to, -(Math.max(keepDays, 1) - 1)), ...unkept), to };
}

/** An InputError unless `day` lies in the window (a day after its end is the newest data, unless still to come). */
export function checkInWindow(day: FeedDay, window: HistoryWindow | null, today: FeedDay, what: string): void {
  const kept = window ? `history is kept from ${dateOfDay(window.from)} to ${dateOfDay(window.to)}` : 'no feed has been imported yet';
  if (window === null || day < window.from) throw new InputError(`${what} ${dateOfDay(day)} is outside the kept window: ${kept}`);
  if (day > today) throw new InputError(`${what} ${dateOfDay(day)} is in the future: ${kept}`);
}

/** The feed day whose data answered for `day` in `feed`: its latest import on or before it, when the feed then held records. */
export function snapshotDay(days: readonly DataDay[], feed: FeedType, day: FeedDay): FeedDay | null {
  let found: DataDay | undefined;
  for (const d of days) if (d.feed === feed && d.day <= day && (!found || d.day >= found.day)) found = d;
  return found && found.records > 0 ? found.day : null;
}

/** A DATA_DAYS_SQL row. */
export interface DataDayRow {
  feed_id: number;
  data_date: number;
  records: number;
  history_kept: number;
}

export const toDataDay = (row: DataDayRow): DataDay => ({
  feed: feedName(row.feed_id),
  day: row.data_date,
  records: row.records,
  kept: Number(row.history_kept) === 1,
});

/** The id of the newest import run: the data days change only with it. */
export const LATEST_RUN_SQL = 'SELECT MAX(id) AS id FROM import_run';

/** The data days as of the newest import run, kept while no run is added: lookups of the past read them every time. */
export class DataDaysCache {
  #latestRun: number | null = -1;
  #days: DataDay[] = [];

  /** Whether the days kept are those of the data whose newest import run is `latestRun`. */
  holds(latestRun: number | null): boolean {
    return latestRun === this.#latestRun;
  }

  keep(latestRun: number | null, rows: readonly DataDayRow[]): void {
    this.#latestRun = latestRun;
    this.#days = rows.map(toDataDay);
  }

  get days(): DataDay[] {
    return this.#days;
  }
}
