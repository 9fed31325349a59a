/**
 * The metrics listener (`ORIGIN_METRICS_PORT`): `/metrics` alone, on a port the CDN never
 * reaches, with the same connection limits as the main port. It logs no request lines: a scrape
 * every few seconds would drown the image requests' lines.
 */
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ConnectionConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import { connectionOptions } from './connection-limits.js';
import { lazySchemaController } from './lazy-schema-compilers.js';
import { installMetricsRoute } from './routes/metrics.js';

export function buildMetricsServer(metrics: Metrics, logger: FastifyBaseLogger, connections: ConnectionConfig): FastifyInstance {
  const app = fastify({
    loggerInstance: logger,
    ...connectionOptions(connections),
    logController: new LogController({ disableRequestLogging: true }),
    schemaController: lazySchemaController,
  });
  installMetricsRoute(app, metrics);
  return app;
}
