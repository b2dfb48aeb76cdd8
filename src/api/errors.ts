import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import type { SchemaErrorDataVar } from 'fastify/types/schema.js';
import { InvalidIpError } from '../feed/ip.ts';
import { InvalidCursorError } from '../store/cursor.ts';
import type { ErrorBody } from './schemas.ts';
import { StoreUnavailableError } from './store-guard.ts';

/** The one error shape of the API, whatever the status. */
export function errorBody(statusCode: number, message: string, invalid?: string[]): ErrorBody {
  return { error: STATUS_CODES[statusCode] ?? 'Error', message, statusCode, ...(invalid && { invalid }) };
}

/** A failure the client caused, with the status and message to answer. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly invalid?: string[],
  ) {
    super(message);
  }
}

/** Validation messages that name the offending parameter, e.g. `unknown query parameter "foo"`. */
export function formatValidationError(errors: FastifySchemaValidationError[], dataVar: SchemaErrorDataVar): Error {
  const [first] = errors;
  if (first?.keyword === 'additionalProperties') {
    const name = JSON.stringify((first.params as { additionalProperty: string }).additionalProperty);
    return new Error(dataVar === 'querystring' ? `unknown query parameter ${name}` : `${dataVar}${first.instancePath}: unknown property ${name}`);
  }
  return new Error(`${dataVar}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`);
}

/**
 * Every failure answers JSON in the one error shape, never a stack trace: client mistakes
 * with their reason, store failures as 503 without the driver's message (it is logged).
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof StoreUnavailableError) {
    request.log.error({ err: error.cause ?? error.message, route: request.routeOptions.url }, 'store failed');
    return reply.code(503).send(errorBody(503, error.message));
  }
  if (error instanceof HttpError) return reply.code(error.statusCode).send(errorBody(error.statusCode, error.message, error.invalid));
  if (error instanceof InvalidIpError || error instanceof InvalidCursorError) return reply.code(400).send(errorBody(400, error.message));
  // Fastify's own client errors: validation, malformed JSON, body too large, media type.
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return reply.code(status).send(errorBody(status, error.message));
  request.log.error({ err: error, route: request.routeOptions.url }, 'request failed');
  return reply.code(500).send(errorBody(500, 'internal error'));
}

/** Client text quoted in a message, cut short: an error should not echo megabytes back. */
export function quoted(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send(errorBody(404, `no route ${request.method} ${quoted(request.url, 200)} (see /openapi.json)`));
}
