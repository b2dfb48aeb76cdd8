import type { FastifyReply } from 'fastify';

/**
 * Answers JSON text built around feed objects' stored JSON, sent as it is. The stored text is
 * never parsed and printed again: a round trip would change big integers
 * (12345678901234567890 to 12345678901234567000), and the schema serializer would drop the
 * properties the schema does not name, while a feed object keeps every property Spur sends.
 */
export function sendStoredJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}
