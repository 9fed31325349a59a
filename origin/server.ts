/**
 * The fastify app factory: health routes, the image route, and one error handler that answers
 * every failure in the shared JSON shape. It never listens; `main.ts` does, and tests use
 * `inject()` or `listen({ port: 0 })`.
 */
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { InvalidRequestError, OverloadedError } from '../transforms/errors.js';
import { toErrorResponse } from './error-response.js';
import type { Metrics } from './metrics.js';
import { serveVariant, type OriginDeps, type VariantLog } from './serve-variant.js';

export interface ServerOptions {
  readonly deps: OriginDeps;
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

declare module 'fastify' {
  interface FastifyRequest {
    variantLog: VariantLog | null;
    errorCode: string | null;
  }
}

const MALFORMED_PATH = { param: 'key', message: 'malformed percent-encoding' } as const;

/** Room for S3's 1024-byte keys after percent-encoding (the router's default stops at 100). */
const MAX_PATH_LENGTH = 4096;

export function buildServer(options: ServerOptions): FastifyInstance {
  const app = fastify({
    loggerInstance: options.logger,
    // One line per request, written in onResponse below, instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: MAX_PATH_LENGTH },
    return503OnClosing: true,
    // Malformed URLs are rejected by the router before any hook; answer them in our shape too.
    frameworkErrors: (error, request, reply) =>
      sendError(error.code === 'FST_ERR_BAD_URL' ? new InvalidRequestError([MALFORMED_PATH], 'INVALID_KEY') : error, request, reply),
  });
  app.setErrorHandler(sendError);
  app.decorateRequest('variantLog', null);
  app.decorateRequest('errorCode', null);

  function sendError(thrown: unknown, request: FastifyRequest, reply: FastifyReply) {
    // The client hung up and the work was aborted: nobody to answer, nothing to report.
    if (reply.raw.destroyed) return reply;
    const response = toErrorResponse(thrown, options.errorCacheControl);
    request.errorCode = response.error.code;
    // Shedding is the origin working as designed, and logging a stack per shed request would cost
    // CPU exactly when there is none to spare: the metric and the request line record it.
    if (response.error instanceof OverloadedError) options.deps.metrics.shed.inc();
    else if (response.status >= 500) {
      const configuration = 'isConfigurationError' in response.error && response.error.isConfigurationError;
      request.log.error({ err: thrown, configuration }, configuration ? 'source configuration error' : 'request failed');
    }
    return reply.code(response.status).headers(response.headers).send(response.body);
  }

  // GET and HEAD match the image route, so anything reaching here used another method.
  app.setNotFoundHandler(function methodNotAllowed(request, reply) {
    reply.header('allow', 'GET, HEAD');
    throw Object.assign(new Error(`no route for ${request.method}`), { statusCode: 405, code: 'METHOD_NOT_ALLOWED' });
  });

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
  const { metrics } = options.deps;
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({ status: reply.statusCode });
    metrics.requestDuration.observe(reply.elapsedTime / 1000);
    logRequest(request, reply.statusCode, reply.elapsedTime);
  });
  // A client that hangs up first never gets a response; log it as nginx does (499).
  app.addHook('onRequestAbort', async (request) => {
    metrics.requests.inc({ status: 499 });
    logRequest(request, 499);
  });

  // Probes describe this process at this moment: never for a cache to keep.
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = options.isReady();
    return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ status: ready ? 'ready' : 'starting' });
  });

  if (options.serveMetrics) app.get('/metrics', metricsRoute(metrics));

  app.get('/*', async function serveImage(request, reply) {
    const signal = requestSignal(reply, options.requestDeadlineMs);
    const [path = '', rawQuery = ''] = splitUrl(request.url);
    const response = await serveVariant(options.deps, {
      path,
      rawQuery,
      header: (name) => firstValue(request.headers[name]),
      signal,
    });
    request.variantLog = response.log;
    return reply.code(response.status).headers(response.headers).send(response.body);
  });

  return app;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function splitUrl(url: string): [string, string] {
  const at = url.indexOf('?');
  return at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at + 1)];
}

/**
 * Aborts the request's work when the client hangs up before the response is written, or when the
 * deadline passes (then with an OverloadedError, which the client gets as a 503).
 */
function requestSignal(reply: FastifyReply, deadlineMs: number): AbortSignal {
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(new OverloadedError('request deadline exceeded')), deadlineMs);
  reply.raw.once('close', () => {
    clearTimeout(deadline);
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** Prometheus text format; never shed, never cached. */
export function metricsRoute(metrics: Metrics) {
  return async function serveMetrics(_request: FastifyRequest, reply: FastifyReply) {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  };
}
