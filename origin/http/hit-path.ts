/**
 * The hit path: a kept variant (its 200 or 304) answered from Node's request event, before fastify
 * routes the request. Behind a CDN most of an origin's answers are these, and fastify's routing,
 * hooks and reply took about half of a hit's CPU (README "The hit path"). Here a hit does only
 * what it must, each part by the same function the fastify hooks use: the in-flight count,
 * back-to-origin authentication, CORS, the send timeout, and the request's count, duration and
 * log line. Everything else (another method, a URL not yet read, a miss, a blocked key, any error,
 * a closing server) goes to fastify untouched, and is answered exactly as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { CorsConfig } from '../delivery-config.js';
import type { ImageResponse } from '../flow/answer.js';
import { answerKept, type FlowDeps } from '../flow/serve-image.js';
import type { Metrics } from '../metrics.js';
import type { RequiredHeader } from '../server-config.js';
import { createBackToOriginCheck } from './back-to-origin.js';
import { armSendTimeout } from './connection-limits.js';
import { createCorsHeaders } from './cors.js';
import type { InFlight } from './in-flight.js';
import { rawRequest } from './raw-request.js';
import { recordAnswer } from './request-log.js';

export interface HitPathDeps {
  readonly flow: FlowDeps;
  readonly metrics: Metrics;
  readonly logger: FastifyBaseLogger;
  readonly inFlight: InFlight;
  readonly sendTimeoutMs: number;
  readonly requiredHeader?: RequiredHeader | undefined;
  readonly cors?: CorsConfig | undefined;
  /** True once the server is closing; fastify then answers 503 itself (`return503OnClosing`). */
  readonly closing: () => boolean;
}

/** Answers `req` and returns true when it is a hit; returns false, having touched nothing, otherwise. */
export type HitPath = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createHitPath(deps: HitPathDeps): HitPath {
  const carriesHeader = deps.requiredHeader && createBackToOriginCheck(deps.requiredHeader);
  const corsHeaders = deps.cors && createCorsHeaders(deps.cors);
  let answered = 0;

  return function answerHit(req, res) {
    if (req.method !== 'GET' || deps.closing() || (carriesHeader && !carriesHeader(req.headers))) return false;
    const start = performance.now();
    const url = req.url ?? '/';
    let response: ImageResponse | undefined;
    try {
      response = answerKept(deps.flow, rawRequest(url, req.headers));
    } catch {
      return false; // fastify reads it again and answers the error in its shape
    }
    if (response === undefined) return false;

    deps.inFlight.track(res);
    armSendTimeout(res, deps.sendTimeoutMs);
    const headers = corsHeaders ? { ...response.headers, ...corsHeaders(req.headers.origin, response.headers.vary) } : response.headers;
    res.writeHead(response.status, headers);
    res.end(response.body);
    const elapsedMs = performance.now() - start;
    recordAnswer(deps.metrics, deps.logger, { method: 'GET', url, status: response.status, elapsedMs, variantLog: response.log, reqId: `hit-${(++answered).toString(36)}` });
    return true;
  };
}
