import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import type { SchemaErrorDataVar } from 'fastify/types/schema.js';
import { httpStatus, InputError, IpoidError, type InvalidEntry } from '../errors.ts';
import type { ErrorBody } from './schemas.ts';

/** The one error shape of the API, whatever the status. */
export function errorBody(statusCode: number, message: string, invalid?: InvalidEntry[]): ErrorBody {
  const entries = invalid && { invalid: invalid.map(({ text }) => text), reasons: invalid.map(({ reason }) => reason) };
  return { error: STATUS_CODES[statusCode] ?? 'Error', message, statusCode, ...entries };
}

/** Validation messages that name the offending parameter, e.g. `unknown query parameter "foo"`. */
export function formatValidationError(errors: FastifySchemaValidationError[], dataVar: SchemaErrorDataVar): Error {
  const [first] = errors;
  if (first?.keyword === 'additionalProperties') {
    const name = JSON.stringify((first.params as { additionalProperty: string }).additionalProperty);
    return new Error(
      dataVar === 'querystring' ? `unknown query parameter ${name}` : `${dataVar}${first.instancePath}: unknown property ${name}`,
    );
  }
  return new Error(`${dataVar}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`);
}

/**
 * Every failure answers JSON in the one error shape, never a stack trace: client mistakes
 * with their reason, an unavailable store as 503 without the driver's message (it is logged),
 * anything else as a bare 500.
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // IPoid's errors by their code; fastify's own client errors (validation, malformed JSON,
  // body too large, media type) by the status they carry.
  const status = error instanceof IpoidError ? httpStatus(error) : (error.statusCode ?? 500);
  if (status < 500)
    return reply.code(status).send(errorBody(status, error.message, error instanceof InputError ? error.invalid : undefined));
  const known = error instanceof IpoidError && status === 503;
  request.log.error({ err: known ? (error.cause ?? error.message) : error, route: request.routeOptions.url }, 'request failed');
  return reply.code(status).send(errorBody(status, known ? error.message : 'internal error'));
}

/** Client text quoted in a message, cut short: an error should not echo megabytes back. */
export function quoted(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send(errorBody(404, `no route ${request.method} ${quoted(request.url, 200)} (see /openapi.json)`));
}
