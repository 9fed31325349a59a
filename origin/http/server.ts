/**
 * The fastify app, assembled from its parts: connection limits, error handling, the request log,
 * the in-flight count, back-to-origin authentication, the probes, the reserved `/metrics` path
 * and the image route. It never listens; `main.ts` does, and tests use `inject()` or
 * `listen({ port: 0 })`.
 */
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ConnectionConfig, CorsConfig, RequiredHeader } from '../config.js';
import type { FlowDeps } from '../flow/serve-image.js';
import type { Metrics } from '../metrics.js';
import { installRequiredHeader } from './back-to-origin.js';
import { createClientErrorHandler } from './client-errors.js';
import { connectionOptions, installSendTimeout } from './connection-limits.js';
import { installCors } from './cors.js';
import { createErrorSender, frameworkErrorsVia, installErrorHandling } from './error-handler.js';
import { countInFlight } from './in-flight.js';
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
  const app = fastify({
    loggerInstance: options.logger,
    ...connectionOptions(options.connections),
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
  // Counted before anything may refuse the request, so refusals are in the count too.
  const inFlightRequests = countInFlight(app);
  if (options.requiredHeader) installRequiredHeader(app, options.requiredHeader);
  installSendTimeout(app, options.connections.sendTimeoutMs);
  if (options.cors) installCors(app, options.cors);
  installHealthRoutes(app, options.isReady);
  installMainPortMetricsRoute(app, options.metrics, options.metricsToken);
  installImageRoute(app, options.flow, options.requestDeadlineMs);
  return { app, inFlightRequests };
}
