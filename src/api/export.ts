import type { StoredRecord } from '../store/types.ts';
import { listItem } from './ipoid-shape.ts';
import { ListItem, type ListFormat } from './schemas.ts';

export type StreamFormat = Exclude<ListFormat, 'json'>;

export const CONTENT_TYPES: Record<StreamFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
};

// Lines are joined into chunks of about this size: one write per line would cost a syscall each.
const CHUNK_CHARS = 64 * 1024;
const CSV_COLUMNS = Object.keys(ListItem.properties);
const CSV_ARRAY_SEPARATOR = '|';

/** The list as ndjson (one list item per line) or CSV (a header row, then one row per record). */
export async function* exportLines(records: AsyncIterable<StoredRecord>, format: StreamFormat): AsyncGenerator<string> {
  const line = format === 'ndjson' ? (item: ListItem) => `${JSON.stringify(item)}\n` : csvLine;
  let chunk = format === 'csv' ? csvRow(CSV_COLUMNS) : '';
  for await (const record of records) {
    chunk += line(listItem(record));
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/** What a list item's fields hold: text, numbers and lists of text. */
type CsvValue = string | number | readonly string[] | undefined;

function csvLine(item: ListItem): string {
  const fields = item as unknown as Record<string, CsvValue>;
  return csvRow(CSV_COLUMNS.map((column) => fields[column]));
}

// A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection).
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * An RFC 4180 row: fields holding a comma, a quote or a line break are quoted, quotes doubled.
 * Arrays are one field, values joined by "|"; absent optional fields are empty. Text that a
 * spreadsheet would run as a formula is prefixed with "'" and quoted, so it shows as text.
 */
function csvRow(values: CsvValue[]): string {
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
