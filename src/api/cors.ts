import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * Lets browser pages on `origins` read the API: their requests get
 * Access-Control-Allow-Origin, their preflights are answered (before the token check: a
 * browser never sends credentials on a preflight). Requests from any other origin are not
 * treated as CORS at all.
 */
export function allowOrigins(app: FastifyInstance, origins: readonly string[]): void {
  const allowed = new Set(origins);
  app.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ['authorization', 'content-type', 'accept'],
    // The list route's next page.
    exposedHeaders: ['link'],
    // A preflight-like OPTIONS without Access-Control-Request-Method would get a text/plain 400.
    strictPreflight: false,
  });
}
