import { hash as digest } from 'node:crypto';
import { Ajv } from 'ajv';
import { InvalidIpError, parseIp, parseNetwork, type CanonicalIp } from './ip.ts';
import { unstorableJson, wellFormed } from './json-limits.ts';
import { SpurRecordSchema, type SpurRecord } from './schema.ts';

/** The label kinds IPoid indexes; each is a filter of `ipoid list` and the list API. */
export const LABEL_KINDS = [
  'risk',
  'service',
  'operator',
  'tunnel_type',
  'proxy',
  'behavior',
  'client_type',
  'infrastructure',
  'country',
] as const;
export type LabelKind = (typeof LABEL_KINDS)[number];
export type Label = readonly [kind: LabelKind, value: string];

/** One string per label, for maps and sets of labels (NUL cannot occur in either part). */
export const labelKey = ([kind, value]: Label): string => `${kind}\u0000${value}`;

/** A feed line that passed validation, normalised and ready to store. */
export interface FeedRecord {
  line: number;
  address: CanonicalIp;
  /** The record as it was in the feed, with its `ip`/`network` rewritten canonically. */
  context: SpurRecord;
  /** The record's JSON as stored (the feed's own text unless the address was rewritten); the hash covers it. */
  json: string;
  /** Change detector for the diff: equal hashes mean nothing to write. */
  hash: Buffer;
  /** Distinct labels of the record, in feed order. */
  labels: Label[];
  /** Fields of `context` a store may keep beside the JSON, for people reading its tables. */
  summary: RecordSummary;
}

/** The fields of a record that a store's readable columns show (SQLite's ip_reputation view). */
export interface RecordSummary {
  organization: string | null;
  asNumber: number | null;
  asOrganization: string | null;
  city: string | null;
  clientCount: number | null;
}

/** What a first load stores of a record: all but the parsed object, which a parse worker does not send across threads. */
export type LoadRecord = Omit<FeedRecord, 'context'>;

export interface SkippedLine {
  line: number;
  reason: string;
}

export type ParsedLine = { ok: true; record: FeedRecord } | { ok: false; skip: SkippedLine };

const validate = new Ajv({ allErrors: false, strict: true }).compile<SpurRecord>(SpurRecordSchema);

/** The skip of line `line`, for `reason`. */
export const skipLine = (line: number, reason: string): ParsedLine => ({ ok: false, skip: { line, reason } });

/*
 * The functions below run for every parsed line of a feed (tens of millions a day): they
 * create no closures, which cost an allocation each (and under tsx, which names every
 * function it compiles, a property definition too).
 */

/** Validates and normalises one feed line (without its newline). Never throws. */
export function parseFeedLine(text: string, line: number): ParsedLine {
  const json = jsonValue(text, line);
  return 'value' in json ? feedRecordOf(json.value, line, text) : json;
}

/** The line's JSON value handed to `record`, or a skip when it is not JSON. */
export function parseJsonLine(text: string, line: number, record: (value: unknown) => ParsedLine): ParsedLine {
  const json = jsonValue(text, line);
  return 'value' in json ? record(json.value) : json;
}

function jsonValue(text: string, line: number): { value: unknown } | ParsedLine {
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    // V8 quotes the line in its message, possibly half of a surrogate pair.
    return skipLine(line, `invalid JSON: ${wellFormed((err as Error).message)}`);
  }
}

/**
 * Validates and normalises a record as JSON.parse gave it (a feed line's, or a realtime merge's
 * result). Its stored JSON is `text` when the record needed no rewriting, else its serialisation.
 */
export function feedRecordOf(value: unknown, line: number, text?: string): ParsedLine {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return skipLine(line, `not a JSON object (${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value})`);
  }
  const unstorable = unstorableJson(value);
  if (unstorable) return skipLine(line, `record holds ${unstorable}`);
  if (!validate(value)) {
    const error = validate.errors?.[0];
    const field = error?.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'record';
    return skipLine(line, `invalid field ${field}: ${error?.message ?? 'invalid'}`);
  }
  const record = value;
  let address: CanonicalIp;
  try {
    address = recordAddress(record);
  } catch (err) {
    if (err instanceof InvalidIpError) return skipLine(line, err.message);
    throw err;
  }
  const context = withCanonicalAddress(record, address);
  // The line itself is the stored JSON when it needed no rewriting: no second serialisation.
  const json = context === record && text !== undefined ? text.trim() : JSON.stringify(context);
  // md5 is a change detector here, not a security boundary: fast and 16 bytes. (Node 20
  // answers a one-shot hash as hex in about three quarters of the time it takes for a Buffer.)
  const hash = Buffer.from(digest('md5', json, 'hex'), 'hex');
  return { ok: true, record: { line, address, context, json, hash, labels: recordLabels(record), summary: summaryOf(record) } };
}

function summaryOf(record: SpurRecord): RecordSummary {
  return {
    organization: record.organization ?? null,
    asNumber: record.as?.number ?? null,
    asOrganization: record.as?.organization ?? null,
    city: record.location?.city ?? null,
    clientCount: record.client?.count ?? null,
  };
}

function recordAddress(record: SpurRecord): CanonicalIp {
  if (record.ip !== undefined && record.network !== undefined) {
    throw new InvalidIpError('record has both "ip" and "network"');
  }
  if (record.network !== undefined) return parseNetwork(record.network);
  if (record.ip === undefined) throw new InvalidIpError('record has no "ip" or "network"');
  if (record.ip === '') throw new InvalidIpError('empty "ip"');
  return parseIp(record.ip);
}

function withCanonicalAddress(record: SpurRecord, address: CanonicalIp): SpurRecord {
  if (record.network !== undefined) return record.network === address.text ? record : { ...record, network: address.text };
  return record.ip === address.text ? record : { ...record, ip: address.text };
}

export function recordLabels(record: SpurRecord): Label[] {
  const labels: Label[] = [];
  for (const v of record.risks ?? []) addLabel(labels, 'risk', v);
  for (const v of record.services ?? []) addLabel(labels, 'service', v);
  for (const t of record.tunnels ?? []) addLabel(labels, 'operator', t.operator);
  for (const t of record.tunnels ?? []) addLabel(labels, 'tunnel_type', t.type);
  for (const v of record.client?.proxies ?? []) addLabel(labels, 'proxy', v);
  for (const v of record.client?.behaviors ?? []) addLabel(labels, 'behavior', v);
  for (const v of record.client?.types ?? []) addLabel(labels, 'client_type', v);
  addLabel(labels, 'infrastructure', record.infrastructure);
  addLabel(labels, 'country', record.location?.country);
  return labels;
}

/** Adds a label unless empty or already there (a record has a handful: a scan beats a set). */
function addLabel(labels: Label[], kind: LabelKind, value: string | undefined): void {
  if (value === undefined || value === '') return;
  for (const [k, v] of labels) if (k === kind && v === value) return;
  labels.push([kind, value]);
}
