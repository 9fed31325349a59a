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

/** Log levels (pino's) at which an `info` line is dropped. */
const QUIETER_THAN_INFO: ReadonlySet<string> = new Set(['warn', 'error', 'fatal', 'silent']);

export function installRequestLog(app: FastifyInstance, metrics: Metrics): void {
  app.decorateRequest('variantLog', null);
  app.decorateRequest('errorCode', null);

  function logRequest(request: FastifyRequest, status: number, elapsedMs?: number) {
    // Building the line costs a hit more than writing it; below `info` it is never built.
    if (QUIETER_THAN_INFO.has(request.log.level)) return;
    request.log.info({
      method: request.method,
      path: request.url.split('?')[0],
      status,
      ...(elapsedMs !== undefined && { ms: Math.round(elapsedMs * 10) / 10 }),
      ...request.variantLog,
      ...(request.errorCode && { error: request.errorCode }),
    });
  }
  app.addHook('onResponse', function countAndLog(request, reply, done) {
    metrics.countRequest(reply.statusCode);
    metrics.requestDuration.observe(reply.elapsedTime / 1000);
    if (request.variantLog?.degraded) metrics.degraded.inc();
    logRequest(request, reply.statusCode, reply.elapsedTime);
    done();
  });
  app.addHook('onRequestAbort', function countAndLogAbort(request, done) {
    metrics.countRequest(499);
    logRequest(request, 499);
    done();
  });
}
