/**
 * One log line and one count per request, written when the answer has gone (or the client hung
 * up first, logged as nginx does with 499), instead of fastify's two.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { VariantLog } from '../flow/answer.js';
import type { Metrics } from '../metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    variantLog: VariantLog | null;
    errorCode: string | null;
  }
}

/** One answered request, as it is counted and logged. */
export interface Answered {
  readonly method: string;
  /** As sent; the log keeps the path only. */
  readonly url: string;
  readonly status: number;
  /** From arrival to the answer's end; absent for a client gone first. */
  readonly elapsedMs?: number | undefined;
  readonly variantLog: VariantLog | null;
  readonly errorCode?: string | null;
  /** For a line not written through fastify's per-request logger (which carries its own). */
  readonly reqId?: string;
}

/** Log levels (pino's) at which an `info` line is dropped. */
const QUIETER_THAN_INFO: ReadonlySet<string> = new Set(['warn', 'error', 'fatal', 'silent']);

/** Counts `answered` in the metrics and writes its line; the fastify hooks and the hit path share it. */
export function recordAnswer(metrics: Metrics, log: FastifyBaseLogger, answered: Answered): void {
  metrics.countRequest(answered.status);
  if (answered.elapsedMs !== undefined) metrics.requestDuration.observe(answered.elapsedMs / 1000);
  if (answered.variantLog?.degraded) metrics.degraded.inc();
  // Building the line costs a hit more than writing it; below `info` it is never built.
  if (QUIETER_THAN_INFO.has(log.level)) return;
  log.info({
    ...(answered.reqId !== undefined && { reqId: answered.reqId }),
    method: answered.method,
    path: answered.url.split('?')[0],
    status: answered.status,
    ...(answered.elapsedMs !== undefined && { ms: Math.round(answered.elapsedMs * 10) / 10 }),
    ...answered.variantLog,
    ...(answered.errorCode && { error: answered.errorCode }),
  });
}

export function installRequestLog(app: FastifyInstance, metrics: Metrics): void {
  app.decorateRequest('variantLog', null);
  app.decorateRequest('errorCode', null);

  app.addHook('onResponse', function countAndLog(request, reply, done) {
    const { method, url, variantLog, errorCode } = request;
    recordAnswer(metrics, request.log, { method, url, status: reply.statusCode, elapsedMs: reply.elapsedTime, variantLog, errorCode });
    done();
  });
  app.addHook('onRequestAbort', function countAndLogAbort(request, done) {
    const { method, url, variantLog, errorCode } = request;
    recordAnswer(metrics, request.log, { method, url, status: 499, variantLog, errorCode });
    done();
  });
}
