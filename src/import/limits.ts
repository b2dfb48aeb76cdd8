/*
 * The two limits that keep a bad file from wiping good data. Skipped lines are not imported,
 * and every stored record missing from the feed is deleted, so a mostly broken file, or a
 * whole file that stops early, would delete most of a feed: past either share the import
 * keeps what was stored.
 */

/** The share of a feed's lines an import may skip (bad or duplicate lines). */
export const DEFAULT_MAX_SKIPPED_RATIO = 0.01;

/** The share of a feed's stored records an import may delete or update without `force`. */
export const DEFAULT_MAX_CHANGE_RATIO = 0.25;

const isRatio = (value: number): boolean => value >= 0 && value <= 1;

/** A limit as importFeed takes it, called `name`: a number from 0 to 1. */
function checkRatio(ratio: number, name: string): number {
  if (!isRatio(ratio)) throw new RangeError(`${name} must be a number from 0 to 1, not ${ratio}`);
  return ratio;
}

/** A limit from text, an option or variable called `name`; `example` says what 0.05 means. */
function parseRatio(text: string, name: string, example: string): number {
  const ratio = text.trim() === '' ? Number.NaN : Number(text);
  if (!isRatio(ratio)) throw new RangeError(`${name} must be a number from 0 to 1 (${example}), not ${JSON.stringify(text)}`);
  return ratio;
}

/** The skipped-line limit: from 0 (no skipped line) to 1 (any share). */
export const checkSkippedRatio = (ratio: number): number => checkRatio(ratio, 'maxSkippedRatio');

/** The skipped-line limit from text: "0.05" allows 5% of the lines. */
export const parseSkippedRatio = (text: string, name: string): number => parseRatio(text, name, '0.05 allows 5% of the lines');

/** The change limit: from 0 (no deletion or update) to 1 (any share). */
export const checkChangeRatio = (ratio: number): number => checkRatio(ratio, 'maxChangeRatio');

/** The change limit from text: "0.05" allows deleting or updating 5% of the stored records. */
export const parseChangeRatio = (text: string, name: string): number =>
  parseRatio(text, name, '0.05 allows deleting or updating 5% of the stored records');

/**
 * Why an import that skipped `skipped` of its `lines` lines (blank ones aside) must fail, or
 * undefined when it may go on.
 */
export function tooManySkipped(skipped: number, lines: number, maxRatio: number): string | undefined {
  // A quotient, not maxRatio * lines: 29/100 is exactly the double 0.29, 0.29 * 100 is not 29.
  if (lines === 0 || skipped / lines <= maxRatio) return undefined;
  return `${skipped} of ${lines} lines skipped (${percent(skipped / lines)}), more than the limit of ${percent(maxRatio)} skipped lines`;
}

/**
 * Why an import that would delete `deleted` and update `updated` of the `stored` records the
 * feed held before it must not be applied without force, or undefined when it may. A feed that
 * held nothing has nothing to lose. Inserts are not counted: they remove nothing. Neither is
 * undoing what realtime slots did since the last full file (`realtime`): a full file replaces
 * it, as Spur intends; only the change from the last full file can tell a broken one.
 */
export function tooManyChanges(
  { deleted, updated }: { deleted: number; updated: number },
  stored: number,
  maxRatio: number,
  realtime = 0,
): string | undefined {
  const changed = deleted + updated - realtime;
  if (stored === 0 || changed / stored <= maxRatio) return undefined;
  const slots = realtime > 0 ? `, leaving out the ${realtime} that realtime slots wrote since the last full file` : '';
  return (
    `it would delete ${deleted} and update ${updated} of the ${stored} stored records (${percent(changed / stored)}${slots}), ` +
    `more than the limit of ${percent(maxRatio)} (IPOID_MAX_CHANGE_RATIO)`
  );
}

const percent = (ratio: number): string => `${Number((ratio * 100).toPrecision(3))}%`;
