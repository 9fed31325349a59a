/**
 * The image route: every other GET/HEAD path is an image key. A thin adapter from fastify to the
 * request flow (`flow/serve-image.ts`), plus the request's abort signal.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { OverloadedError } from '../../errors.js';
import { serveImage, type FlowDeps } from '../../flow/serve-image.js';
import { rawRequest } from '../raw-request.js';

export function installImageRoute(app: FastifyInstance, deps: FlowDeps, requestDeadlineMs: number): void {
  app.get('/*', async function serveImageRoute(request, reply) {
    let signal: AbortSignal | undefined;
    const response = await serveImage(deps, {
      ...rawRequest(request.url, request.headers),
      get signal() {
        return (signal ??= requestSignal(reply, requestDeadlineMs));
      },
    });
    request.variantLog = response.log;
    return reply.code(response.status).headers(response.headers).send(response.body);
  });
}

/**
 * Aborts the request's work when the client hangs up before the response is written, or when the
 * deadline passes (then with an OverloadedError, which the client gets as a 503). Made when the
 * flow first asks for it: a cache hit never waits, so it never pays for a controller and a timer
 * (together about a fifth of a hit's CPU). The deadline still counts from the request's arrival.
 */
function requestSignal(reply: FastifyReply, deadlineMs: number): AbortSignal {
  const controller = new AbortController();
  const remainingMs = Math.max(0, deadlineMs - reply.elapsedTime);
  const deadline = setTimeout(() => controller.abort(new OverloadedError('request deadline exceeded')), remainingMs);
  const closed = () => {
    clearTimeout(deadline);
    if (!reply.raw.writableFinished) controller.abort();
  };
  // A client gone before the signal was made is gone all the same.
  if (reply.raw.closed) closed();
  else reply.raw.once('close', closed);
  return controller.signal;
}
