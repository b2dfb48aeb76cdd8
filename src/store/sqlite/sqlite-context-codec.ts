import Database from 'better-sqlite3';
import { Compressor, Decompressor } from 'zstd-napi';
import type { FeedRecord } from '../../feed/record.ts';

/*
 * How ip_data.context is kept on SQLite, which compresses nothing: a record's JSON was about
 * half of its row. It is kept as zstd, compressed against a dictionary of the store's own
 * records (a feed's records share most of their words), about 80 of a 347-byte record at
 * 3 µs, where zlib took 23 µs for 120 bytes. A row's value is its dictionary's id (one byte),
 * then the zstd frame. Rows written before schema version 9 hold the JSON as text, and keep
 * it until an import rewrites them.
 *
 * The dictionary is made once, by the first import that writes a record, and kept in
 * context_dictionary in that import's transaction: from records already stored (an upgraded
 * store), taken across the whole table, else from the lines of the import's first batch.
 * SQL reads a record's JSON as ipoid_context(context), which each IPoid connection registers.
 */

/** A dictionary longer than this compresses little better and costs more to load. */
const DICTIONARY_BYTES = 1 << 20;
/** How many stored records a dictionary of an upgraded store is sampled from. */
const SAMPLED_RECORDS = 3000;
const LEVEL = 3;

export class ContextCodec {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #decoders = new Map<number, Decompressor>();
  #encoder: { id: number; compressor: Compressor } | undefined;

  /** Registers ipoid_context() on `db` (a connection to the store at `path`, migrated) and reads its dictionaries. */
  constructor(db: Database.Database, path: string) {
    this.#db = db;
    this.#path = path;
    db.function('ipoid_context', { deterministic: true }, (value: unknown) =>
      Buffer.isBuffer(value) ? this.decode(value) : (value as string | null),
    );
    for (const { id, content } of db.prepare<[], DictionaryRow>(DICTIONARIES_SQL).all()) this.#decoders.set(id, decoder(content));
  }

  /** Readies encode() in an import's transaction: the store's newest dictionary, or one it makes now (of `jsons` if nothing is stored). */
  prepare(jsons: readonly string[]): void {
    if (this.#encoder) return;
    const newest = this.#db.prepare<[], DictionaryRow>(`${DICTIONARIES_SQL} ORDER BY id DESC LIMIT 1`).get();
    const content = newest?.content ?? dictionaryOf([...this.#storedSample(), ...jsons]);
    const id = newest?.id ?? Number(this.#db.prepare('INSERT INTO context_dictionary (content) VALUES (?)').run(content).lastInsertRowid);
    if (id > 0xff) throw new Error(`context dictionary ${id} does not fit the row's one byte`);
    const compressor = new Compressor();
    compressor.setParameters({ compressionLevel: LEVEL, contentSizeFlag: true, checksumFlag: false, dictIDFlag: false });
    compressor.loadDictionary(content);
    this.#encoder = { id, compressor };
    this.#decoders.set(id, decoder(content));
  }

  /** A record's JSON as ip_data.context keeps it (after prepare()). */
  encode(json: string): Buffer {
    if (!this.#encoder) throw new Error('ContextCodec.encode before prepare');
    const frame = this.#encoder.compressor.compress(Buffer.from(json));
    const stored = Buffer.allocUnsafe(frame.length + 1);
    stored[0] = this.#encoder.id;
    frame.copy(stored, 1);
    return stored;
  }

  decode(stored: Buffer): string {
    const id = stored[0]!;
    const found = this.#decoders.get(id) ?? this.#load(id);
    return found.decompress(stored.subarray(1)).toString();
  }

  /**
   * A dictionary committed after this connection read them (a reader living across the first
   * import). Read through a connection of its own: this one may be inside a statement.
   */
  #load(id: number): Decompressor {
    const db = new Database(this.#path, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare<[number], DictionaryRow>(`${DICTIONARIES_SQL} WHERE id = ?`).get(id);
      if (!row) throw new Error(`ip_data holds a context of dictionary ${id}, which context_dictionary does not`);
      const found = decoder(row.content);
      this.#decoders.set(id, found);
      return found;
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
export const READABLE_COLUMNS = 'organization, as_number, as_organization, location_city, client_count';

/** A record's READABLE_COLUMNS values. */
export function readableValues({ context }: FeedRecord): [string | null, number | null, string | null, string | null, number | null] {
  return [
    context.organization ?? null,
    context.as?.number ?? null,
    context.as?.organization ?? null,
    context.location?.city ?? null,
    context.client?.count ?? null,
  ];
}

interface DictionaryRow {
  id: number;
  content: Buffer;
}

const DICTIONARIES_SQL = 'SELECT id, content FROM context_dictionary';

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
