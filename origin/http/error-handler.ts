/**
 * One answer for every failure, in the shared JSON shape: errors thrown by routes, errors fastify
 * raises before any route (a malformed URL), and methods no route takes (405).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequestError } from '../../transforms/errors.js';
import { OverloadedError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { toErrorResponse } from './error-response.js';

export type ErrorSender = (thrown: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply;

const MALFORMED_PATH = { param: 'key', message: 'malformed percent-encoding' } as const;

export function createErrorSender(errorCacheControl: string, metrics: Metrics): ErrorSender {
  return function sendError(thrown, request, reply) {
    // The client hung up and the work was aborted: nobody to answer, nothing to report.
    if (reply.raw.destroyed) return reply;
    const response = toErrorResponse(thrown, errorCacheControl);
    request.errorCode = response.error.code;
    // Shedding is the origin working as designed, and logging a stack per shed request would cost
    // CPU exactly when there is none to spare: the metric and the request line record it.
    if (response.error instanceof OverloadedError) metrics.shed.inc();
    else if (response.status >= 500) {
      const configuration = 'isConfigurationError' in response.error && response.error.isConfigurationError === true;
      request.log.error({ err: thrown, configuration }, configuration ? 'source configuration error' : 'request failed');
    }
    return reply.code(response.status).headers(response.headers).send(response.body);
  };
}

/** fastify's `frameworkErrors` option: a URL the router cannot even decode is a 400 INVALID_KEY. */
export function frameworkErrorsVia(sendError: ErrorSender) {
  return (error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply) =>
    sendError(error.code === 'FST_ERR_BAD_URL' ? new InvalidRequestError([MALFORMED_PATH], 'INVALID_KEY') : error, request, reply);
}

export function installErrorHandling(app: FastifyInstance, sendError: ErrorSender): void {
  app.setErrorHandler(sendError);
  // GET and HEAD match the image route, so anything reaching here used another method.
  app.setNotFoundHandler(function methodNotAllowed(request, reply) {
    reply.header('allow', 'GET, HEAD');
    throw Object.assign(new Error(`no route for ${request.method}`), { statusCode: 405, code: 'METHOD_NOT_ALLOWED' });
  });
}
