import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './errors.ts';

/** Where `npm run build` puts the console (ui/vite.config.ts): dist/ui beside src/ and dist/. */
export const BUILT_CONSOLE_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

// Asset names carry a hash of their content: a new build has new names, so a browser may keep
// them a year. The page itself is revalidated each time, so it always names the current assets.
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
// Everything the console loads comes from IPoid itself: no CDN, no inline script.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The web console at /ui/: static files, answered without a token (they hold no data; the
 * console asks for the token and sends it with each API call, like any other client).
 */
export async function consoleRoutes(app: FastifyInstance, { root }: { root: string }): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, open: true };
  });
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/ui*', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(404).send(errorBody(404, 'the web console is not built: run `npm run build` (or `npm start`, which builds it)')),
    );
    return;
  }
  app.get('/ui', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/ui/', 301));
  await app.register(fastifyStatic, {
    root,
    prefix: '/ui/',
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header('cache-control', path.startsWith(join(root, 'assets')) ? IMMUTABLE : REVALIDATE);
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    },
  });
}
