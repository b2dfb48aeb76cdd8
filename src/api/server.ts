import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Logger } from '../log.ts';
import type { Store } from '../store/types.ts';
import { bearerAuth } from './auth.ts';
import { DEFAULT_EXPORT_MAX_RECORDS, DEFAULT_KEEP_ALIVE_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ServerConfig } from './config.ts';
import { allowOrigins } from './cors.ts';
import { conditionalAnswers, DataVersions } from './data-version.ts';
import { errorHandler, formatValidationError, notFoundHandler } from './errors.ts';
import { registerMetrics } from './metrics.ts';
import { answerUnsupported, clientErrorHandler, httpOptions, noSniff, requireHost } from './protocol.ts';
import { BUILT_CONSOLE_DIR, consoleRoutes } from './console.ts';
import { changesRoutes } from './routes/changes.ts';
import { contextRoutes } from './routes/context.ts';
import { exportRoutes } from './routes/export.ts';
import { healthRoutes } from './routes/health.ts';
import { historyRoutes } from './routes/history.ts';
import { importsRoutes } from './routes/imports.ts';
import { ipRoutes } from './routes/ip.ts';
import { labelsRoutes } from './routes/labels.ts';
import { listRoutes } from './routes/list.ts';
import { openapiRoutes } from './routes/openapi.ts';
import { prefixesRoutes } from './routes/prefixes.ts';
import { searchRoutes } from './routes/search.ts';
import { SHARED_SCHEMAS } from './schemas.ts';
import { guardStore } from './store-guard.ts';
import { IndexHolder } from '../lookup/index-holder.ts';
import { Lookups } from './lookups.ts';
import { VERSION } from '../version.ts';

export interface ServerOptions {
  store: Store;
  logger: Logger;
  config: ServerConfig;
}

// Route parameters are read whole, so that an over-long one is refused by its schema (400)
// rather than by the router (404, which the MediaWiki client reads as "unknown IP").
const MAX_PARAM_LENGTH = 16 * 1024;
// The largest valid request, a batch of 1,000 addresses, is under 100 KiB.
const BODY_LIMIT = 256 * 1024;

/** The HTTP API over a store, ready to listen (the caller listens and closes the store). */
export function buildServer({ store, logger, config }: ServerOptions) {
  const requestTimeout = config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    // Typed as fastify's base logger, so the instance is the FastifyInstance that plugins take
    // (the linter sees the cast as redundant; the type checker needs it).
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger.child({ component: 'api' }, { redact: ['req.headers.authorization'] }) as FastifyBaseLogger,
    // A log line per request costs more than a lookup: only at debug level.
    logController: new LogController({ disableRequestLogging: !logger.isLevelEnabled('debug') }),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    bodyLimit: BODY_LIMIT,
    http: httpOptions(requestTimeout),
    // Fastify would set Node's request timeout to 0 (none) without this.
    requestTimeout,
    keepAliveTimeout: config.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    clientErrorHandler: clientErrorHandler(requestTimeout),
    // A path that is not percent-encoded UTF-8, in the one error shape (fastify adds a "code").
    frameworkErrors: (error, request, reply) => void errorHandler(error, request, reply),
    // An unknown parameter is a mistake to report, not something to drop silently.
    ajv: { customOptions: { removeAdditional: false } },
    schemaErrorFormatter: formatValidationError,
  }).withTypeProvider<TypeBoxTypeProvider>();
  answerUnsupported(app.server);
  noSniff(app.server);

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'IPoid',
        version: VERSION,
        description: 'IP reputation from Spur anonymous-IP feeds. Errors answer {"error","message","statusCode"}.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(config.tokens.length > 0 && { security: [{ bearer: [] }] }),
    },
    // Health routes answer without a token.
    transform: ({ schema, url, route }) => ({ url, schema: route.config?.open ? { ...schema, security: [] } : schema }),
    // Shared schemas appear under their $id in components.schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onRequest', requireHost);
  if (config.corsOrigins?.length) allowOrigins(app, config.corsOrigins);
  // Once CORS is loaded, so that its hook runs first: it answers preflights, which carry no
  // token, and adds its headers to a 401 so that a browser page can read it.
  if (config.tokens.length > 0) {
    app.after(() => {
      app.addHook('onRequest', bearerAuth(config.tokens));
    });
  }

  const guarded = guardStore(store);
  const index = config.lookupIndex === 'memory' ? new IndexHolder(store.url, logger.child({ component: 'lookup-index' })) : undefined;
  registerMetrics(app, guarded, index);
  app.register(healthRoutes, { store: guarded, readyMaxAgeSeconds: config.readyMaxAgeSeconds ?? null, index });
  // The data routes: they name the data version they answer from.
  const versions = new DataVersions(guarded);
  const lookups = new Lookups(guarded, versions, index);
  lookups.followVersions(app);
  // Lookups, in a context of their own: they name the version they read, the lookup index's,
  // except a lookup of a past day (`at`), which reads the store's history.
  app.register(async (data) => {
    conditionalAnswers(data, (request) => ((request.query as { at?: string } | undefined)?.at === undefined ? lookups : versions));
    await data.register(ipRoutes, { store: guarded, lookups });
  });
  app.register(async (data) => {
    conditionalAnswers(data, versions);
    for (const routes of [historyRoutes, contextRoutes, searchRoutes, listRoutes, changesRoutes, labelsRoutes, prefixesRoutes]) {
      await data.register(routes, { store: guarded });
    }
    await data.register(exportRoutes, { store: guarded, maxRecords: config.exportMaxRecords ?? DEFAULT_EXPORT_MAX_RECORDS });
  });
  // Runs are listed as they happen, failed ones too: not named by the data's version.
  app.register(importsRoutes, { store: guarded });
  app.register(openapiRoutes);
  app.register(consoleRoutes, { root: config.consoleDir ?? BUILT_CONSOLE_DIR });
  return app;
}
