/**
 * The share of a feed's lines an import may skip. Skipped lines are not imported, and every
 * stored record missing from the feed is deleted, so a mostly broken file would wipe most
 * of the data: past this share the import fails and keeps what was stored.
 */
export const DEFAULT_MAX_SKIPPED_RATIO = 0.01;

const isRatio = (value: number): boolean => value >= 0 && value <= 1;

/** The limit as importFeed takes it: a number from 0 (no skipped line) to 1 (any share). */
export function checkSkippedRatio(ratio: number): number {
  if (!isRatio(ratio)) throw new RangeError(`maxSkippedRatio must be a number from 0 to 1, not ${ratio}`);
  return ratio;
}

/** The limit from text, an option or variable called `name`: "0.05" allows 5% of the lines. */
export function parseSkippedRatio(text: string, name: string): number {
  const ratio = text.trim() === '' ? Number.NaN : Number(text);
  if (!isRatio(ratio)) throw new RangeError(`${name} must be a number from 0 to 1 (0.05 allows 5% of the lines), not ${JSON.stringify(text)}`);
  return ratio;
}

/**
 * Why an import that skipped `skipped` of its `lines` lines (blank ones aside) must fail, or
 * undefined when it may go on.
 */
export function tooManySkipped(skipped: number, lines: number, maxRatio: number): string | undefined {
  // A quotient, not maxRatio * lines: 29/100 is exactly the double 0.29, 0.29 * 100 is not 29.
  if (lines === 0 || skipped / lines <= maxRatio) return undefined;
  return `${skipped} of ${lines} lines skipped (${percent(skipped / lines)}), more than the limit of ${percent(maxRatio)} skipped lines`;
}

const percent = (ratio: number): string => `${Number((ratio * 100).toPrecision(3))}%`;
