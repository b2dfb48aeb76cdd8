import Database from 'better-sqlite3';
import { Compressor, Decompressor } from 'zstd-napi';
import type { LoadRecord } from '../../feed/record.ts';

/*
 * How ip_data.context is kept on SQLite, which compresses nothing: a record's JSON was about
 * half of its row. It is kept as a zstd frame, compressed against a dictionary of the store's
 * own records (a feed's records share most of their words): about 80 bytes of a 347-byte
 * record, at about 3 µs, where zlib took 23 µs for 120 bytes. Rows written before schema
 * version 9 hold the JSON as text, and keep it until an import rewrites them.
 *
 * The dictionary is made once, by the first import that writes a record, and kept in
 * context_dictionary (id 1) in that import's transaction: from records already stored (an
 * upgraded store), taken across the whole table, else from the lines of the import's first
 * batch. The frames name no dictionary: a later dictionary would be named by zstd's own
 * dictionary ID, and frames without one keep reading with dictionary 1.
 * SQL reads a record's JSON as ipoid_context(context), which each IPoid connection registers.
 */

/** A dictionary longer than this compresses little better and costs more to load. */
const DICTIONARY_BYTES = 1 << 20;
/** How many stored records a dictionary of an upgraded store is sampled from. */
const SAMPLED_RECORDS = 3000;
const LEVEL = 3;
const DICTIONARY_SQL = 'SELECT content FROM context_dictionary WHERE id = 1';

export class ContextCodec {
  readonly #db: Database.Database;
  readonly #path: string;
  #decoder: Decompressor | undefined;
  #encoder: Compressor | undefined;
  /** A record's UTF-8 bytes, written here rather than into a new Buffer each. */
  #scratch = Buffer.allocUnsafe(64 * 1024);

  /** Registers ipoid_context() on `db` (a connection to the store at `path`, migrated) and reads its dictionary. */
  constructor(db: Database.Database, path: string) {
    this.#db = db;
    this.#path = path;
    db.function('ipoid_context', { deterministic: true }, (value: unknown) =>
      Buffer.isBuffer(value) ? this.decode(value) : (value as string | null),
    );
    const content = db.prepare<[], Buffer>(DICTIONARY_SQL).pluck().get();
    if (content) this.#decoder = decoder(content);
  }

  /** Readies encode() in an import's transaction: with the store's dictionary, or one it makes now (of `records` if nothing is stored). */
  prepare(records: readonly LoadRecord[]): void {
    if (this.#encoder) return;
    let content = this.#db.prepare<[], Buffer>(DICTIONARY_SQL).pluck().get();
    if (!content) {
      content = dictionaryOf([...this.#storedSample(), ...records.map((record) => record.json)]);
      this.#db.prepare('INSERT INTO context_dictionary (id, content) VALUES (1, ?)').run(content);
    }
    this.#encoder = new Compressor();
    this.#encoder.setParameters({ compressionLevel: LEVEL, contentSizeFlag: true, checksumFlag: false, dictIDFlag: false });
    this.#encoder.loadDictionary(content);
    this.#decoder = decoder(content);
  }

  /** A record's JSON as ip_data.context keeps it (after prepare()). */
  encode(json: string): Buffer {
    if (!this.#encoder) throw new Error('ContextCodec.encode before prepare');
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (json.length * 3 > this.#scratch.length) this.#scratch = Buffer.allocUnsafe(json.length * 3);
    return this.#encoder.compress(this.#scratch.subarray(0, this.#scratch.write(json)));
  }

  decode(stored: Buffer): string {
    return (this.#decoder ?? this.#load()).decompress(stored).toString();
  }

  /**
   * The dictionary, committed after this connection opened (a reader living across the first
   * import). Read through a connection of its own: this one may be inside a statement.
   */
  #load(): Decompressor {
    const db = new Database(this.#path, { readonly: true, fileMustExist: true });
    try {
      const content = db.prepare<[], Buffer>(DICTIONARY_SQL).pluck().get();
      if (!content) throw new Error('ip_data holds compressed records but context_dictionary no dictionary');
      this.#decoder = decoder(content);
      return this.#decoder;
    } finally {
      db.close();
    }
  }

  /** Records stored as text (before compression), one at each of evenly spaced rowids. */
  #storedSample(): string[] {
    const last = this.#db.prepare<[], number | null>('SELECT MAX(rowid) FROM ip_data').pluck().get() ?? 0;
    const at = this.#db
      .prepare<[number], string | null>("SELECT context FROM ip_data WHERE rowid >= ? AND typeof(context) = 'text' LIMIT 1")
      .pluck();
    const sample: string[] = [];
    const step = Math.max(1, Math.floor(last / SAMPLED_RECORDS));
    for (let row = 1; row <= last && sample.length < SAMPLED_RECORDS; row += step) {
      const json = at.get(row);
      if (json) sample.push(json);
    }
    return sample;
  }
}

/** ip_data's columns for what the ip_reputation view shows of a compressed record. */
const READABLE_COLUMNS = 'organization, as_number, as_organization, location_city, client_count';

/** The ip_data columns an import writes, with the view's readable columns, in the order of dataRowValues(). */
export const DATA_COLUMNS = `ip, prefix_len, feed_id, ip_text, context, label_ids, record_hash, last_updated, ${READABLE_COLUMNS}`;

/** One placeholder for each of DATA_COLUMNS. */
export const DATA_PLACEHOLDERS = DATA_COLUMNS.split(', ')
  .map(() => '?')
  .join(', ');

/** A first load's INSERT of an ip_data row (a key an earlier line took is ignored); its values are dataRowValues(). */
export const INSERT_DATA_SQL = `INSERT OR IGNORE INTO ip_data (${DATA_COLUMNS}) VALUES (${DATA_PLACEHOLDERS})`;

/** The values of INSERT_DATA_SQL for a record, its compressed context and its label ids. */
export function dataRowValues(record: LoadRecord, feedId: number, context: Buffer, labelIds: string, at: number): unknown[] {
  const { bytes, prefixLen, text } = record.address;
  return [bytes, prefixLen, feedId, text, context, labelIds, record.hash, at, ...readableValues(record)];
}

/** A record's READABLE_COLUMNS values. */
function readableValues({ summary }: LoadRecord): [string | null, number | null, string | null, string | null, number | null] {
  return [summary.organization, summary.asNumber, summary.asOrganization, summary.city, summary.clientCount];
}

function decoder(content: Buffer): Decompressor {
  const found = new Decompressor();
  found.loadDictionary(content);
  return found;
}

/** zstd's raw-content dictionary: records one a line, up to DICTIONARY_BYTES. */
function dictionaryOf(jsons: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  for (const json of jsons) {
    const line = Buffer.from(`${json}\n`);
    if (size + line.length > DICTIONARY_BYTES) break;
    parts.push(line);
    size += line.length;
  }
  return Buffer.concat(parts);
}
