/**
 * The fastify app, assembled from its parts: error handling, the request log, the probes, the
 * metrics route (unless it has a port of its own) and the image route. It never listens;
 * `main.ts` does, and tests use `inject()` or `listen({ port: 0 })`.
 */
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { FlowDeps } from '../flow/serve-image.js';
import type { Metrics } from '../metrics.js';
import { createErrorSender, frameworkErrorsVia, installErrorHandling } from './error-handler.js';
import { installRequestLog } from './request-log.js';
import { installHealthRoutes } from './routes/health.js';
import { installImageRoute } from './routes/image.js';
import { installMetricsRoute } from './routes/metrics.js';

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
  /** Serve `/metrics` on this server (false when it has a port of its own). */
  readonly serveMetrics: boolean;
}

/** Room for S3's 1024-byte keys after percent-encoding (the router's default stops at 100). */
const MAX_PATH_LENGTH = 4096;

export function buildServer(options: ServerOptions): FastifyInstance {
  const sendError = createErrorSender(options.errorCacheControl, options.metrics);
  const app = fastify({
    loggerInstance: options.logger,
    // One line per request, written by the request log, instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: MAX_PATH_LENGTH },
    return503OnClosing: true,
    // Malformed URLs are rejected by the router before any hook; answer them in our shape too.
    frameworkErrors: frameworkErrorsVia(sendError),
  });
  installErrorHandling(app, sendError);
  installRequestLog(app, options.metrics);
  installHealthRoutes(app, options.isReady);
  if (options.serveMetrics) installMetricsRoute(app, options.metrics);
  installImageRoute(app, options.flow, options.requestDeadlineMs);
  return app;
}
