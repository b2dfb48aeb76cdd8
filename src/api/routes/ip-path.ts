import type { FastifyInstance } from 'fastify';
import { InputError } from '../../errors.ts';
import { quoted } from '../errors.ts';

/**
 * `{prefix}:ip` routes see only one path segment, so `/feed/v1/ip/1.1.1.1/24` would fall to
 * the router's 404, which the MediaWiki client reads as "unknown IP". This hidden route
 * answers 400 for any longer path under `prefix` instead.
 */
export function rejectPathsUnder(app: FastifyInstance, prefix: string): void {
  app.get(`${prefix}*`, { schema: { hide: true } }, async (request) => {
    throw new InputError(`not an IPv4 or IPv6 address: ${quoted((request.params as { '*': string })['*'])}`);
  });
}
