/**
 * The fastify app factory: health routes, the image route, and one error handler that answers
 * every failure in the shared JSON shape. It never listens; `main.ts` does, and tests use
 * `inject()` or `listen({ port: 0 })`.
 */
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { InvalidRequestError } from '../transforms/errors.js';
import { toErrorResponse } from './error-response.js';
import { serveVariant, type OriginDeps, type VariantLog } from './serve-variant.js';

export interface ServerOptions {
  readonly deps: OriginDeps;
  /** Cache-Control for 4xx answers. */
  readonly errorCacheControl: string;
  /** A pino logger instance; tests pass a silent one. */
  readonly logger: FastifyBaseLogger;
  /** `/readyz` answers 200 only while this returns true. */
  readonly isReady: () => boolean;
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
    if (response.status >= 500) {
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
  app.addHook('onResponse', async (request, reply) => logRequest(request, reply.statusCode, reply.elapsedTime));
  // A client that hangs up first never gets a response; log it as nginx does (499).
  app.addHook('onRequestAbort', async (request) => logRequest(request, 499));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) =>
    options.isReady() ? { status: 'ready' } : reply.code(503).header('cache-control', 'no-store').send({ status: 'starting' }),
  );

  app.get('/*', async function serveImage(request, reply) {
    const aborted = abortOnClientClose(reply);
    const [path = '', query = ''] = splitUrl(request.url);
    const response = await serveVariant(options.deps, {
      path,
      query: new URLSearchParams(query),
      accept: request.headers.accept,
      conditions: { ifNoneMatch: request.headers['if-none-match'], ifModifiedSince: request.headers['if-modified-since'] },
      signal: aborted,
    });
    request.variantLog = response.log;
    return reply.code(response.status).headers(response.headers).send(response.body);
  });

  return app;
}

function splitUrl(url: string): [string, string] {
  const at = url.indexOf('?');
  return at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at + 1)];
}

/** Aborts source work when the client hangs up before the response is written. */
function abortOnClientClose(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
