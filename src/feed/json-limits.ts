/**
 * What valid JSON may still hold that the stores cannot keep as it was in the feed. MariaDB's
 * JSON type refuses nesting deeper than this (Spur's records nest 3 levels) and escaped lone
 * surrogates ("\ud800"); a number beyond a double's range parses as Infinity. One such line
 * must be skipped, not fail the whole import when the store refuses it.
 */
export const MAX_JSON_DEPTH = 31;

// With the u flag, a surrogate matches only when it is not half of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const LONE_SURROGATES = /[\uD800-\uDFFF]/gu;

/** Why a value from JSON.parse cannot be stored unchanged; undefined when it can. */
export function unstorableJson(value: unknown): string | undefined {
  return problemAt(value, 1);
}

function problemAt(value: unknown, depth: number): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'a number beyond the range of a double';
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? 'a string with an unpaired surrogate (\\uD800-\\uDFFF)' : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > MAX_JSON_DEPTH) return `JSON nested deeper than ${MAX_JSON_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = problemAt(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  // JSON.parse makes plain objects: every enumerable key is the object's own.
  for (const key in value) {
    const problem = problemAt(key, depth) ?? problemAt((value as Record<string, unknown>)[key], depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** Text safe for any store: lone surrogates (a message quoting half of a pair) become U+FFFD. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATES, '\uFFFD');
}
