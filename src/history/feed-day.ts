import { InputError } from '../errors.ts';

/*
 * History is kept per feed date. The tables hold a date as the integer YYYYMMDD (20261130):
 * ordered like the dates, readable in a query, and Spur's own `dt` spelling. The API and the
 * CLI speak YYYY-MM-DD.
 */

/** A feed date as the tables hold it: YYYYMMDD. */
export type FeedDay = number;

const DAY_MS = 86_400_000;

/** The UTC calendar day of `at`, as YYYY-MM-DD. */
export const utcDate = (at: Date): string => at.toISOString().slice(0, 10);

export const feedDay = (date: string): FeedDay => Number(date.replaceAll('-', ''));

/** Today's UTC day: no later day can be asked for. */
export const today = (): FeedDay => feedDay(utcDate(new Date()));

export function dateOfDay(day: FeedDay): string {
  const text = String(day);
  return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
}

/** `day` moved by `days` calendar days. */
export const addDays = (day: FeedDay, days: number): FeedDay => feedDay(utcDate(new Date(Date.parse(dateOfDay(day)) + days * DAY_MS)));

/**
 * A date a client gave, as YYYY-MM-DD or YYYYMMDD (Spur's `dt`); an InputError naming
 * `what` when it is neither or not a calendar day (2026-02-30).
 */
export function parseFeedDay(text: string, what: string): FeedDay {
  const match = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(text);
  const date = match ? `${match[1]}-${match[2]}-${match[3]}` : '';
  if (!match || Number.isNaN(Date.parse(date)) || utcDate(new Date(Date.parse(date))) !== date) {
    throw new InputError(`${what} must be a date as YYYY-MM-DD or YYYYMMDD, not ${JSON.stringify(text)}`);
  }
  return feedDay(date);
}
