import type Database from 'better-sqlite3';
import type { CanonicalIp } from '../../feed/ip.ts';
import { addDays, type FeedDay } from '../../history/feed-day.ts';
import { encodeState, restate } from '../../history/state-codec.ts';
import { decodeKeys, encodeKeys, KEYS_PER_PART, type HistoryKey } from '../../history/key-journal.ts';
import {
  ANY_RUN_SQL,
  fileHistorySql,
  JOURNAL_KEYS_SQL,
  LATEST_DATA_DAY_SQL,
  PRUNABLE_KEYS_SQL,
  PRUNE_JOURNAL_SQL,
  PRUNE_STATE_SQL,
  RESTATE_SQL,
  SAME_DAY_PAGE,
  sameDaySql,
} from '../shared-sql.ts';

/** The states an import stages for the history, filed at commit. */
export const SQLITE_CREATE_IMPORT_HISTORY_SQL = `CREATE TEMP TABLE import_history (
  ip BLOB NOT NULL, prefix_len INTEGER NOT NULL, state BLOB, label_ids TEXT, last_updated INTEGER,
  PRIMARY KEY (ip, prefix_len)) WITHOUT ROWID`;

/** A page of a second import's same-day re-take (shared-sql.ts), after a staged key (an empty blob and 0 before the first). */
export const SQLITE_SAME_DAY_SQL = sameDaySql('s.ip', 'CROSS JOIN', 'ipoid_context(d.context)', '(s.ip, s.prefix_len) > (?, ?)');

/** A stored record as an import replaces it. */
export interface ReplacedRow {
  context: string;
  label_ids: string;
  last_updated: number;
}

interface SameDayRow {
  ip: Buffer;
  prefix_len: number;
  staged: Buffer | null;
  kept: Buffer;
  next: string | null;
}

/**
 * One SQLite import's history: the state of every key it adds, replaces or removes, staged
 * in a temporary table as the import goes and filed in ip_history at commit (in key order,
 * as the label changes are). With no history kept (0 days), nothing is staged or filed.
 */
export class SqliteHistory {
  readonly #feedId: number;
  readonly #keepDays: number;
  readonly #stmt;

  constructor(db: Database.Database, feedId: number, keepDays: number) {
    this.#feedId = feedId;
    this.#keepDays = keepDays;
    db.exec(SQLITE_CREATE_IMPORT_HISTORY_SQL);
    // The removed records are staged whole from import_gone in one statement, deflated on the way.
    db.function('ipoid_past_state', { deterministic: true }, (context: unknown) => encodeState(context as string, null));
    this.#stmt = {
      stage: db.prepare<[Buffer, number, Buffer | null, string | null, number | null]>(
        'INSERT INTO temp.import_history (ip, prefix_len, state, label_ids, last_updated) VALUES (?, ?, ?, ?, ?)',
      ),
      stageGone: db.prepare(`INSERT INTO temp.import_history (ip, prefix_len, state, label_ids, last_updated)
        SELECT ip, prefix_len, ipoid_past_state(context), label_ids, last_updated FROM temp.import_gone`),
      latestDay: db.prepare<[number], number | null>(LATEST_DATA_DAY_SQL).pluck(),
      anyRun: db.prepare<[], number>(ANY_RUN_SQL).pluck(),
      stageLoaded: db.prepare<[number]>(
        'INSERT INTO temp.import_history (ip, prefix_len) SELECT ip, prefix_len FROM ip_data WHERE feed_id = ?',
      ),
      sameDay: db.prepare<[number, number, Buffer, number], SameDayRow>(SQLITE_SAME_DAY_SQL),
      restate: db.prepare<[Buffer, Buffer, number, number, number]>(RESTATE_SQL),
      file: db.prepare<[number, number]>(fileHistorySql('OR IGNORE')),
      stagedKeys: db.prepare<[Buffer, number, number], HistoryKey>(
        'SELECT ip, prefix_len FROM temp.import_history WHERE (ip, prefix_len) > (?, ?) ORDER BY ip, prefix_len LIMIT ?',
      ),
      journal: db.prepare<[number, number, Buffer, number, number]>(JOURNAL_KEYS_SQL),
      prunable: db.prepare<[number, number], { ended_on: number; key_list: Buffer }>(PRUNABLE_KEYS_SQL),
      pruneState: db.prepare<[Buffer, number, number, number]>(PRUNE_STATE_SQL),
      pruneJournal: db.prepare<[number, number]>(PRUNE_JOURNAL_SQL),
    };
  }

  get keeping(): boolean {
    return this.#keepDays > 0;
  }

  /** A key the import adds: it was not in the feed before. */
  added(address: CanonicalIp): void {
    if (this.keeping) this.#stmt.stage.run(address.bytes, address.prefixLen, null, null, null);
  }

  /** A key whose record the import replaces with `json`. */
  replaced(address: CanonicalIp, old: ReplacedRow, json: string): void {
    if (!this.keeping) return;
    this.#stmt.stage.run(address.bytes, address.prefixLen, encodeState(old.context, json), old.label_ids, old.last_updated);
  }

  /**
   * A first load's keys, all added: staged unless nothing was ever imported (history then
   * begins with this load, and no earlier day is asked for).
   */
  loaded(): void {
    if (this.keeping && this.#stmt.anyRun.get() !== undefined) this.#stmt.stageLoaded.run(this.#feedId);
  }

  /** The keys in import_gone (with their context, label_ids and last_updated), which the import removes. */
  removed(): void {
    if (this.keeping) this.#stmt.stageGone.run();
  }

  /**
   * Files the staged states under the run's feed day (never before the feed's latest) and
   * prunes the feed's states no kept day needs. Answers the day the run is filed under.
   */
  file(runDay: FeedDay): FeedDay {
    const latest = this.#stmt.latestDay.get(this.#feedId) ?? 0;
    const day = Math.max(runDay, latest);
    if (!this.keeping) return day;
    if (latest === day) this.#restateSameDay(day);
    this.#stmt.file.run(this.#feedId, day);
    this.#journal(day);
    this.#prune(addDays(day, -(this.#keepDays - 1)));
    return day;
  }

  /**
   * Only a second import of the day finds states filed under it: they are re-taken a page at
   * a time, each read whole before its states are written (better-sqlite3 runs nothing else
   * while a statement iterates).
   */
  #restateSameDay(day: FeedDay): void {
    let after: HistoryKey = { ip: Buffer.alloc(0), prefix_len: 0 };
    for (;;) {
      const page = this.#stmt.sameDay.all(this.#feedId, day, after.ip, after.prefix_len);
      for (const row of page) {
        const state = restate(row.kept, row.staged, row.next);
        if (state !== row.kept) this.#stmt.restate.run(state, row.ip, row.prefix_len, this.#feedId, day);
      }
      if (page.length < SAME_DAY_PAGE) return;
      after = page.at(-1)!;
    }
  }

  /** Journals the keys filed today, a part at a time in key order. */
  #journal(day: FeedDay): void {
    let after: HistoryKey = { ip: Buffer.alloc(0), prefix_len: 0 };
    for (;;) {
      const keys = this.#stmt.stagedKeys.all(after.ip, after.prefix_len, KEYS_PER_PART);
      if (keys.length === 0) return;
      this.#stmt.journal.run(this.#feedId, day, encodeKeys(keys), this.#feedId, day);
      after = keys.at(-1)!;
    }
  }

  /** Deletes the states filed on or before `last`, day by day as the journal lists them: the window's first day needs only the states that ended after it. */
  #prune(last: FeedDay): void {
    for (const { ended_on, key_list } of this.#stmt.prunable.all(this.#feedId, last)) {
      for (const key of decodeKeys(key_list)) this.#stmt.pruneState.run(key.ip, key.prefix_len, this.#feedId, ended_on);
    }
    this.#stmt.pruneJournal.run(this.#feedId, last);
  }
}
