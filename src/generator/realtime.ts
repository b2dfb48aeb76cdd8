import { mkdir } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import type { SpurRecord } from '../feed/schema.ts';
import { dateOfDay, parseFeedDay } from '../history/feed-day.ts';
import { clusterAddresses, type AddressKind, type PrefixAllocator } from './addresses.ts';
import { ISPS, PROXIES, RISKS, placesIn } from './distributions.ts';
import { parseRecord } from './line-address.ts';
import { eachLine, lineBlocks } from './line-blocks.ts';
import { otherCount } from './mutations.ts';
import { indexPreviousFeed, type PreviousFeed } from './previous.ts';
import { residentialProfile } from './profiles.ts';
import { createRandom, mapWeighted, weighted, type Random, type Weighted } from './random.ts';
import { clusterJson, placeFields, recordLine, type ClusterJson } from './records.ts';
import { ChunkPacker, writeChunks } from './writer.ts';
import { SLOT_MS, slotPath } from '../realtime/slot.ts';

/*
 * Spur's realtime files (../shared/spec/spur-feed.md): between two full files, a partial
 * update every 5 minutes, DIR/YYYYMMDD/HHMM.json.gz (UTC), each line a partial record that
 * is merged into the stored record of its key. Generated for a day file: most lines name a
 * key of it and say what changed (a client count, a proxy network, a risk, a tunnel, a
 * place, an ISP); the rest are residential proxies that just appeared. A few keys change
 * again in a later slot.
 *
 * Memory: the day file is read as next-day mode reads a previous feed (an index of its
 * addresses, then a second pass), never held. The second pass picks the lines that get an
 * update, spreads their updates over random slots and keeps them until their slots are
 * written; when that would be more than `passLines` lines, each pass keeps the updates of
 * a range of slots only, and draws the same picks again for the next range.
 */

export const DEFAULT_SLOTS = 288; // a day
export const DEFAULT_RECORDS_PER_SLOT = 10_000;
/** Updates one pass over the day file keeps for the slots it writes (some 60 bytes each). */
export const DEFAULT_PASS_LINES = 3_000_000;

/** Share of the lines whose key is in the day file; the rest are new proxies. */
const EXISTING_SHARE = 0.85;
/** Lines beyond one per picked key: a key that changes again in a later slot. */
const REPEAT_SHARE = 0.02;
/** A slot's updates are packed in chunks of this size until it is written: hundreds of slots fill at once. */
const SLOT_CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** Independent random streams: which lines are picked never depends on what their updates say. */
const SELECT = 0;
const ASSIGN = 1;
const CHANGE = 2;
const FRESH = 3;
const ORDER = 4;

export interface RealtimeOptions {
  /** The day's full file (gzip or plain JSON lines) that the updates apply to. */
  from: string;
  /** Directory: slot files go to out/YYYYMMDD/HHMM.json.gz. */
  out: string;
  /** 5-minute slots from 00:00 UTC of the date (default 288, a day); later ones roll into the next days. */
  slots?: number;
  /** Lines per slot (default 10,000). */
  recordsPerSlot?: number;
  seed: number;
  /** The first slot's day, YYYY-MM-DD or YYYYMMDD; by default the name of `from`'s directory when it is YYYYMMDD. */
  date?: string;
  /** Updates kept in memory per pass over the day file (default DEFAULT_PASS_LINES). */
  passLines?: number;
}

export interface RealtimeSummary {
  slots: number;
  /** Lines written: existing + new. */
  records: number;
  /** Lines whose key is in the day file. */
  existing: number;
  /** Lines whose key is not. */
  new: number;
}

/** Writes the realtime files of a day file and says what they hold. The same options write the same bytes. */
export async function generateRealtime(options: RealtimeOptions): Promise<RealtimeSummary> {
  const slots = options.slots ?? DEFAULT_SLOTS;
  const perSlot = options.recordsPerSlot ?? DEFAULT_RECORDS_PER_SLOT;
  const passLines = options.passLines ?? DEFAULT_PASS_LINES;
  for (const [name, value] of [
    ['slots', slots],
    ['recordsPerSlot', perSlot],
    ['passLines', passLines],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  const first = firstSlot(options.from, options.date);
  const files = Array.from({ length: slots }, (_, i) => slotFile(options.out, new Date(first + i * SLOT_MS)));
  if (files.includes(resolve(options.from))) throw new Error(`${options.from} would be overwritten by a slot file: write them elsewhere`);
  // Created up front so a bad seed fails before the (long) first pass.
  const fresh = createRandom(options.seed, FRESH);
  const order = createRandom(options.seed, ORDER);

  const day = await indexPreviousFeed(options.from, { keepDuplicates: true });
  const plan = planPicks(day.count, slots, perSlot);
  const newKeys = new NewKeys(fresh, day.allocator, kindTable(day));
  const slotsPerPass = Math.max(1, Math.floor(passLines / perSlot));
  let existing = 0;
  for (let lo = 0; lo < slots; lo += slotsPerPass) {
    const hi = Math.min(slots, lo + slotsPerPass);
    const updates = await readPass(options.from, options.seed, day, plan, lo, hi);
    for (let slot = lo; slot < hi; slot++) {
      const count = updates.counts[slot]!;
      await mkdir(dirname(files[slot]!), { recursive: true });
      await writeChunks(slotChunks(updates.packers[slot - lo]!.take(true), count, perSlot - count, newKeys, order), files[slot]!);
      existing += count;
    }
  }
  return { slots, records: slots * perSlot, existing, new: slots * perSlot - existing };
}

/** 00:00 UTC of the first slot's day, in ms. */
function firstSlot(from: string, date: string | undefined): number {
  if (date !== undefined) return Date.parse(dateOfDay(parseFeedDay(date, '--date')));
  const directory = basename(dirname(resolve(from)));
  if (!/^\d{8}$/.test(directory)) {
    throw new InputError(`give --date YYYY-MM-DD: the day file's directory (${directory}) is not its date as YYYYMMDD`);
  }
  return Date.parse(dateOfDay(parseFeedDay(directory, `the directory of ${from}`)));
}

/** out/YYYYMMDD/HHMM.json.gz for the slot starting at `at`. */
const slotFile = (out: string, at: Date): string => resolve(out, `${slotPath(at)}.json.gz`);

/** How many lines of the day file get updates, and how many updates each (on average). */
interface Plan {
  slots: number;
  perSlot: number;
  picks: number;
  /** Mean updates per picked line, in distinct slots: just above 1, more when the day file is small. */
  multiplicity: number;
}

function planPicks(records: number, slots: number, perSlot: number): Plan {
  const wanted = Math.round(slots * perSlot * EXISTING_SHARE);
  const picks = Math.min(records, slots === 1 ? wanted : Math.round(wanted / (1 + REPEAT_SHARE)));
  return { slots, perSlot, picks, multiplicity: picks === 0 ? 0 : Math.min(slots, wanted / picks) };
}

interface PassUpdates {
  /** Updates of day-file keys per slot (all slots). */
  counts: Uint32Array;
  /** The updates of the pass's slots, lo first. */
  packers: ChunkPacker[];
}

/**
 * One pass over the day file: picks `plan.picks` record lines (selection sampling, exactly
 * that many, spread over the file), gives each its slots and an update per slot, and keeps
 * the updates of slots [lo, hi). Every pass draws the same picks, slots and updates.
 */
async function readPass(from: string, seed: number, day: PreviousFeed, plan: Plan, lo: number, hi: number): Promise<PassUpdates> {
  const select = createRandom(seed, SELECT);
  const assign = createRandom(seed, ASSIGN);
  const change = createRandom(seed, CHANGE);
  const counts = new Uint32Array(plan.slots);
  const packers = Array.from({ length: hi - lo }, () => new ChunkPacker(SLOT_CHUNK_BYTES));
  let left = day.count;
  let toPick = plan.picks;
  let line = 0;
  let nonRecord = 0; // index of the next line in day.nonRecords
  for await (const block of lineBlocks(from)) {
    eachLine(block, (start, end, unterminated) => {
      line += 1;
      if (day.nonRecords[nonRecord] === line) {
        nonRecord += 1;
        return;
      }
      if (left === 0) throw new Error(`day file ${from} grew while it was read`);
      const picked = select.int(0, left - 1) < toPick;
      left -= 1;
      if (!picked) return;
      toPick -= 1;
      const { context } = parseRecord(from, block.bytes, start, end, line, unterminated);
      for (const slot of chooseSlots(plan, counts, assign)) {
        const update = partialLine(context, change);
        if (slot >= lo && slot < hi) packers[slot - lo]!.line(update);
      }
    });
  }
  if (left !== 0) throw new Error(`day file ${from} shrank while it was read`);
  return { counts, packers };
}

/** Distinct random slots with room for one more update (about plan.multiplicity of them), counted in `counts`. */
function chooseSlots(plan: Plan, counts: Uint32Array, rng: Random): number[] {
  const { multiplicity } = plan;
  const wanted = Math.min(plan.slots, Math.floor(multiplicity) + Number(rng.chance(multiplicity % 1)));
  const chosen: number[] = [];
  // A slot is rarely full (they fill to 85% on average): a few tries always find one.
  for (let tries = 0; chosen.length < wanted && tries < 8 * wanted; tries++) {
    const slot = rng.int(0, plan.slots - 1);
    if (counts[slot]! < plan.perSlot && !chosen.includes(slot)) {
      chosen.push(slot);
      counts[slot]! += 1;
    }
  }
  return chosen;
}

/** What a realtime update says about a key of the day file. */
type Change = 'count' | 'proxy' | 'risk' | 'tunnel' | 'location' | 'infrastructure' | 'as';
const CHANGES = weighted<Change>([
  ['count', 0.35],
  ['proxy', 0.2],
  ['risk', 0.15],
  ['tunnel', 0.1],
  ['location', 0.1],
  ['as', 0.06],
  ['infrastructure', 0.04],
]);
const SECOND_CHANGE_CHANCE = 0.2;
/** An update that also carries an empty value ("" or 0), which a merge must ignore. */
const EMPTY_CHANCE = 0.05;
const INFRASTRUCTURES = ['RESIDENTIAL', 'MOBILE', 'DATACENTER', 'SATELLITE'];

/*
 * Updates are written as JSON text, as records.ts writes records: an object per update
 * handed to JSON.stringify took most of the time. Table values are serialised once.
 */
const json = (value: unknown): string => JSON.stringify(value);
const ISPS_JSON = mapWeighted(ISPS, ({ number, organization }) => json({ number, organization }));
/** Places by country as `location` JSON, for an address that moves within its country (or to an ISP's). */
const PLACES_JSON = new Map(ISPS.items.map(({ country }) => [country, placesIn(country).map((place) => json(placeFields(place)))]));
const ISP_COUNTRIES = mapWeighted(ISPS, ({ country }) => country);

/** An update's top-level fields (JSON values), in the spec's key order, and its client's. */
const FIELDS = ['as', 'organization', 'infrastructure', 'location', 'risks', 'tunnels'] as const;
type Update = { [field in (typeof FIELDS)[number] | 'proxies']?: string } & { count?: number };

/** A partial record for a key of the day file, as a JSON line: its key and one or two fields that change. */
export function partialLine(record: SpurRecord, rng: Random): string {
  const update: Update = {};
  applyChange(update, rng.pickWeighted(CHANGES), record, rng);
  if (rng.chance(SECOND_CHANGE_CHANCE)) applyChange(update, rng.pickWeighted(CHANGES), record, rng);
  if (rng.chance(EMPTY_CHANCE)) addEmpty(update, rng);
  let line = record.network === undefined ? `{"ip":${json(record.ip)}` : `{"network":${json(record.network)}`;
  for (const field of FIELDS) if (update[field] !== undefined) line += `,"${field}":${update[field]}`;
  const { proxies, count } = update;
  if (proxies !== undefined && count !== undefined) line += `,"client":{"proxies":${proxies},"count":${count}}`;
  else if (proxies !== undefined) line += `,"client":{"proxies":${proxies}}`;
  else if (count !== undefined) line += `,"client":{"count":${count}}`;
  return `${line}}`;
}

function applyChange(update: Update, kind: Change, record: SpurRecord, rng: Random): void {
  switch (kind) {
    case 'count': {
      const before = record.client?.count;
      const count = before === undefined ? rng.logUniform(30) : otherCount(before, rng);
      update.count = count === 0 ? before! + 1 : count; // 0 would say nothing
      return;
    }
    case 'proxy':
      update.proxies = `[${json(otherThan(record.client?.proxies ?? [], PROXIES, rng))}]`;
      return;
    case 'risk': {
      const missing = RISKS.filter((risk) => !record.risks?.includes(risk));
      if (missing.length === 0) return applyChange(update, 'count', record, rng);
      update.risks = `[${json(rng.pick(missing))}]`;
      return;
    }
    case 'tunnel': {
      const operators = (record.tunnels ?? []).map((tunnel) => tunnel.operator ?? '');
      update.tunnels = `[{"operator":${json(otherThan(operators, PROXIES, rng))},"type":"PROXY"}]`;
      return;
    }
    case 'location': {
      const places = PLACES_JSON.get(record.location?.country ?? '') ?? PLACES_JSON.get(rng.pickWeighted(ISP_COUNTRIES))!;
      update.location = rng.pick(places);
      return;
    }
    case 'as':
      update.as = rng.pickWeighted(ISPS_JSON);
      return;
    case 'infrastructure':
      update.infrastructure = json(rng.pick(INFRASTRUCTURES.filter((value) => value !== record.infrastructure)));
  }
}

/** A weighted pick not in `present`, when a few tries find one. */
function otherThan(present: readonly string[], table: Weighted<string>, rng: Random): string {
  let value = rng.pickWeighted(table);
  for (let tries = 0; present.includes(value) && tries < 4; tries++) value = rng.pickWeighted(table);
  return value;
}

/** An empty value in a field the update leaves alone: Spur's way of saying nothing. */
function addEmpty(update: Update, rng: Random): void {
  const field = rng.pick(['organization', 'as', 'location', 'count'] as const);
  if (field === 'organization') update.organization ??= '""';
  else if (field === 'as') update.as ??= '{"number":0,"organization":""}';
  else if (field === 'location') update.location ??= '{"city":"","state":""}';
  else update.count ??= 0;
}

/** New keys' kinds in the day file's proportions (its records' `ip` or `network`). */
function kindTable(day: PreviousFeed): Weighted<AddressKind> {
  const kinds = Object.entries(day.kinds).filter(([, count]) => count > 0) as Array<[AddressKind, number]>;
  return weighted(kinds.length > 0 ? kinds : [['ipv4', 1]]);
}

/**
 * Residential proxies that just appeared, as whole records: a few at a time share an ISP
 * and place, each in its own fresh block (none of the day file's, nor of another new key's).
 */
class NewKeys {
  private cluster: ClusterJson | undefined;
  private left = 0;

  constructor(
    private readonly rng: Random,
    private readonly allocator: PrefixAllocator,
    private readonly kinds: Weighted<AddressKind>,
  ) {}

  line(): string {
    if (this.left === 0) {
      this.cluster = clusterJson(residentialProfile(this.rng));
      this.left = this.rng.int(1, 20);
    }
    this.left -= 1;
    const kind = this.rng.pickWeighted(this.kinds);
    // One address per block: a cluster of two or more may also list its containing network.
    const [address] = clusterAddresses(kind, 1, this.rng, this.allocator);
    return recordLine(this.cluster!, kind, address!, this.rng);
  }
}

/** A slot's file content: its updates of day-file keys (whole lines) and `fresh` new keys, shuffled together in order. */
async function* slotChunks(updates: Buffer[], existing: number, fresh: number, newKeys: NewKeys, rng: Random): AsyncGenerator<Buffer> {
  const packer = new ChunkPacker();
  let chunk = 0;
  let at = 0;
  while (existing + fresh > 0) {
    if (rng.int(0, existing + fresh - 1) < existing) {
      while (at === updates[chunk]!.length) [chunk, at] = [chunk + 1, 0];
      const end = updates[chunk]!.indexOf(NEWLINE, at) + 1;
      packer.bytes(updates[chunk]!, at, end);
      at = end;
      existing -= 1;
    } else {
      packer.line(newKeys.line());
      fresh -= 1;
    }
    if (packer.ready) yield* packer.take();
  }
  yield* packer.take(true);
}
