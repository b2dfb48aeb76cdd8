import fastJson from 'fast-json-stringify';
import type { FastifyReply } from 'fastify';
import { IpoidRecord } from './schemas.ts';

/*
 * The lookup routes' answers, `{"<key>": record or null, ...}`, written here rather than by
 * fastify from the routes' response schemas: those are a record of `IpoidRecord | null`, whose
 * serializer validates every value against the record schema to pick a branch of the union
 * before writing it, and builds one string of the whole batch, which is measured and encoded
 * again as it is sent. The bytes are the same: each record goes through the serializer
 * fastify compiles for the record schema, compiled here once.
 */

const recordJson = fastJson(IpoidRecord);

/** fastify's own content type for JSON. */
const JSON_TYPE = 'application/json; charset=utf-8';

// The answer is encoded a piece of about this many characters at a time: one encoding per piece
// instead of one per record, and no string of a whole 1,000-address batch to flatten.
const PIECE_CHARS = 32 * 1024;

/** Answers `entries` as one JSON object, in their order: each key's record, or null when the address is unknown. */
export const sendAnswers = (reply: FastifyReply, entries: Iterable<[key: string, record: IpoidRecord | null]>): FastifyReply =>
  reply.type(JSON_TYPE).send(answersJson(entries));

/** `entries` as one JSON object: a string when short, which Node sends in one write with the headers; else bytes. */
export function answersJson(entries: Iterable<[key: string, record: IpoidRecord | null]>): string | Buffer {
  const pieces: Buffer[] = [];
  let piece = '{';
  let separator = '';
  for (const [key, record] of entries) {
    // A key is an address as prettifyIP spells it: JSON.stringify writes it as the schema's serializer does.
    piece += `${separator}${JSON.stringify(key)}:${record === null ? 'null' : recordJson(record)}`;
    separator = ',';
    if (piece.length >= PIECE_CHARS) {
      pieces.push(Buffer.from(piece));
      piece = '';
    }
  }
  piece += '}';
  return pieces.length === 0 ? piece : Buffer.concat([...pieces, Buffer.from(piece)]);
}
