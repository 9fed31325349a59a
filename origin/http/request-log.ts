/**
 * One log line and one count per request, written when the answer has gone (or the client hung
 * up first, logged as nginx does with 499), instead of fastify's two lines.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { VariantLog } from '../flow/answer.js';
import type { Metrics } from '../metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    variantLog: VariantLog | null;
    errorCode: string | null;
  }
}

export function installRequestLog(app: FastifyInstance, metrics: Metrics): void {
  app.decorateRequest('variantLog', null);
  app.decorateRequest('errorCode', null);

  function logRequest(request: FastifyRequest, status: number, elapsedMs?: number) {
    request.log.info({
      method: request.method,
      path: request.url.split('?')[0],
      status,
      ...(elapsedMs !== undefined && { ms: Math.round(elapsedMs * 10) / 10 }),
      ...request.variantLog,
      ...(request.errorCode && { error: request.errorCode }),
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({ status: reply.statusCode });
    metrics.requestDuration.observe(reply.elapsedTime / 1000);
    if (request.variantLog?.degraded) metrics.degraded.inc();
    logRequest(request, reply.statusCode, reply.elapsedTime);
  });
  app.addHook('onRequestAbort', async (request) => {
    metrics.requests.inc({ status: 499 });
    logRequest(request, 499);
  });
}
