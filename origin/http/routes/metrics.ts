/** Prometheus text format; never shed, never cached. Served on the main app or on its own port. */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.js';

export function installMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });
}
