import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answered without a token even when IPOID_API_TOKENS is set (health, metrics, docs). */
    open?: boolean;
  }
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * An onRequest hook requiring `Authorization: Bearer <one of tokens>` on every route not
 * marked `open`. Tokens are compared as SHA-256 digests with timingSafeEqual: equal lengths,
 * and the time taken tells nothing about how much of a token matched.
 */
export function bearerAuth(tokens: readonly string[]) {
  const digests = tokens.map(sha256);
  const accepted = (token: string): boolean => {
    const given = sha256(token);
    // Every token is compared, so the time does not tell which one matched.
    return digests.reduce((ok, digest) => timingSafeEqual(digest, given) || ok, false);
  };
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (request.routeOptions.config.open) return done();
    const header = request.headers.authorization;
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (token !== undefined && accepted(token)) return done();
    const challenge = header === undefined ? 'Bearer realm="ipoid"' : 'Bearer realm="ipoid", error="invalid_token"';
    const message = header === undefined ? 'this route needs an "Authorization: Bearer <token>" header' : 'invalid bearer token';
    reply.code(401).header('www-authenticate', challenge).send(errorBody(401, message));
  };
}
