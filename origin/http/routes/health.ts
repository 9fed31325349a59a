/** Liveness and readiness probes: they describe this process at this moment, never for a cache to keep. */
import type { FastifyInstance } from 'fastify';

export function installHealthRoutes(app: FastifyInstance, isReady: () => boolean): void {
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = isReady();
    return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ status: ready ? 'ready' : 'starting' });
  });
}
