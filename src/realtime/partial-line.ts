import { feedRecordOf, parseJsonLine, type ParsedLine } from '../feed/record.ts';
import { isEmpty } from './merge.ts';

/**
 * A realtime line: a partial record, validated as a feed record once its empty values are
 * gone. They say "no news" (merge.ts), so an empty label ("infrastructure": "") that a full
 * record may not hold is no reason to skip the line.
 */
export function parsePartialLine(text: string, line: number): ParsedLine {
  return parseJsonLine(text, line, (value) => feedRecordOf(withoutEmpty(value), line));
}

function withoutEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((item) => !isEmpty(item)).map(withoutEmpty);
  if (typeof value !== 'object' || value === null) return value;
  const kept: Record<string, unknown> = {};
  for (const [field, item] of Object.entries(value)) {
    const inner = withoutEmpty(item);
    const emptyObject = typeof inner === 'object' && inner !== null && !Array.isArray(inner) && Object.keys(inner).length === 0;
    if (!isEmpty(inner) && !emptyObject) kept[field] = inner;
  }
  return kept;
}
