/**
 * The fastify app, assembled from its parts: connection limits, error handling, the request log,
 * the in-flight count, back-to-origin authentication, the probes, the reserved `/metrics` path
 * and the image route, behind the hit path (`hit-path.ts`), which answers kept variants from the
 * server's request event before fastify routes them. It never listens; `main.ts` does, and tests
 * use `listen({ port: 0 })` or `inject()` (which never takes the hit path).
 */
import type { RequestListener } from 'node:http';
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ConnectionConfig, CorsConfig, RequiredHeader } from '../config.js';
import type { FlowDeps } from '../flow/serve-image.js';
import type { Metrics } from '../metrics.js';
import { installRequiredHeader } from './back-to-origin.js';
import { createClientErrorHandler } from './client-errors.js';
import { connectionOptions, createLimitedServer, installSendTimeout } from './connection-limits.js';
import { installCors } from './cors.js';
import { createErrorSender, frameworkErrorsVia, installErrorHandling } from './error-handler.js';
import { createHitPath } from './hit-path.js';
import { createInFlight, installInFlight } from './in-flight.js';
import { lazySchemaController } from './lazy-schema-compilers.js';
import { installRequestLog } from './request-log.js';
import { installHealthRoutes } from './routes/health.js';
import { installImageRoute } from './routes/image.js';
import { installMainPortMetricsRoute } from './routes/metrics.js';

export interface ServerOptions {
  readonly flow: FlowDeps;
  readonly metrics: Metrics;
  /** Cache-Control for 4xx answers. */
  readonly errorCacheControl: string;
  /** A pino logger instance; tests pass a silent one. */
  readonly logger: FastifyBaseLogger;
  /** `/readyz` answers 200 only while this returns true. */
  readonly isReady: () => boolean;
  /** Overall budget of one image request; past it the answer is 503. */
  readonly requestDeadlineMs: number;
  readonly connections: ConnectionConfig;
  /** Opens `/metrics` on this server to `Authorization: Bearer <token>`; 404 there without one. */
  readonly metricsToken?: string | undefined;
  /** The header every request but the probes must carry (back-to-origin authentication). */
  readonly requiredHeader?: RequiredHeader | undefined;
  /** Access-Control-Allow-Origin and preflight answers; off when undefined. */
  readonly cors?: CorsConfig | undefined;
  /** Kept variants answered before fastify routes (`hit-path.ts`); on unless false (tests compare the two). */
  readonly hitPath?: boolean;
}

export interface Server {
  readonly app: FastifyInstance;
  /** Requests received and not yet answered. */
  readonly inFlightRequests: () => number;
}

/** Room for S3's 1024-byte keys after percent-encoding (the router's default stops at 100). */
const MAX_PATH_LENGTH = 4096;

export function buildServer(options: ServerOptions): Server {
  const sendError = createErrorSender(options.errorCacheControl, options.metrics);
  const inFlight = createInFlight();
  let closing = false;
  const answerHit =
    options.hitPath === false
      ? undefined
      : createHitPath({
          ...options,
          inFlight,
          sendTimeoutMs: options.connections.sendTimeoutMs,
          closing: () => closing,
        });
  const app = fastify({
    loggerInstance: options.logger,
    ...connectionOptions(options.connections),
    ...(answerHit && {
      serverFactory: (route: RequestListener) => createLimitedServer(options.connections, (req, res) => {
        if (!answerHit(req, res)) route(req, res);
      }),
    }),
    clientErrorHandler: createClientErrorHandler(options.metrics),
    // One line per request, written by the request log, instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: MAX_PATH_LENGTH },
    schemaController: lazySchemaController,
    return503OnClosing: true,
    // Malformed URLs are rejected by the router before any hook; answer them in our shape too.
    frameworkErrors: frameworkErrorsVia(sendError),
  });
  installErrorHandling(app, sendError);
  installRequestLog(app, options.metrics);
  installInFlight(app, inFlight);
  app.addHook('preClose', function refuseHits(done) {
    closing = true;
    done();
  });
  if (options.requiredHeader) installRequiredHeader(app, options.requiredHeader);
  installSendTimeout(app, options.connections.sendTimeoutMs);
  if (options.cors) installCors(app, options.cors);
  installHealthRoutes(app, options.isReady);
  installMainPortMetricsRoute(app, options.metrics, options.metricsToken);
  installImageRoute(app, options.flow, options.requestDeadlineMs);
  return { app, inFlightRequests: inFlight.count };
}
