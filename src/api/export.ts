import type { StoredRecord } from '../store/types.ts';
import { recordLabels } from '../feed/record.ts';
import type { Change } from '../history/changes.ts';
import { changeItem, listItem } from './ipoid-shape.ts';
import { ListItem, PARAM_OF_KIND, type ListFormat } from './schemas.ts';

export type StreamFormat = Exclude<ListFormat, 'json'>;

export const CONTENT_TYPES: Record<StreamFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
};

// Lines are joined into chunks of about this size: one write per line would cost a syscall each.
const CHUNK_CHARS = 64 * 1024;
const CSV_ARRAY_SEPARATOR = '|';

/** What a CSV cell holds: text, numbers and lists of text. */
export type CsvValue = string | number | readonly string[] | undefined;

/** How one kind of item is exported: its JSON object (an ndjson line), and its CSV columns and cells. */
export interface Exporter<T> {
  json(item: T): unknown;
  csvColumns: readonly string[];
  csvCells(item: T): CsvValue[];
}

const LIST_COLUMNS = Object.keys(ListItem.properties);

/** Stored records as the list route gives them: list items. */
export const LIST_EXPORT: Exporter<StoredRecord> = {
  json: listItem,
  csvColumns: LIST_COLUMNS,
  csvCells: (record) => {
    const fields = listItem(record) as unknown as Record<string, CsvValue>;
    return LIST_COLUMNS.map((column) => fields[column]);
  },
};

/** Items as ndjson (one JSON object per line) or CSV (a header row, then one row per item). */
export async function* exportItems<T>(items: AsyncIterable<T>, format: StreamFormat, exporter: Exporter<T>): AsyncGenerator<string> {
  const line = format === 'ndjson' ? (item: T) => `${JSON.stringify(exporter.json(item))}\n` : (item: T) => csvRow(exporter.csvCells(item));
  yield* chunked(
    (async function* () {
      if (format === 'csv') yield csvRow(exporter.csvColumns);
      for await (const item of items) yield line(item);
    })(),
  );
}

/** Text pieces (lines) joined into chunks of about CHUNK_CHARS. */
export async function* chunked(pieces: AsyncIterable<string>): AsyncGenerator<string> {
  let chunk = '';
  for await (const piece of pieces) {
    chunk += piece;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

// A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection).
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * An RFC 4180 row: fields holding a comma, a quote or a line break are quoted, quotes doubled.
 * Arrays are one field, values joined by "|"; absent optional fields are empty. Text that a
 * spreadsheet would run as a formula is prefixed with "'" and quoted, so it shows as text.
 */
function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

function csvField(value: CsvValue): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const text = Array.isArray(value) ? value.join(CSV_ARRAY_SEPARATOR) : String(value);
  if (FORMULA_START.test(text)) return quoted(`'${text}`);
  return /[",\r\n]/.test(text) ? quoted(text) : text;
}

const quoted = (field: string): string => `"${field.replaceAll('"', '""')}"`;

const labelTexts = (record: StoredRecord | null): string[] =>
  record === null ? [] : recordLabels(record.context).map(([kind, value]) => `${PARAM_OF_KIND[kind]}:${value}`);

/** Changes as the changes route streams them; in CSV, each side's labels as kind:value. */
export const CHANGES_EXPORT: Exporter<Change> = {
  json: changeItem,
  csvColumns: ['ip', 'feed', 'change', 'labels_before', 'labels_after'],
  csvCells: (change) => [change.key, change.feed, change.change, labelTexts(change.before), labelTexts(change.after)],
};
