/**
 * CORS for `ORIGIN_CORS_ORIGINS`, so pages on other origins can draw images onto a canvas
 * (`<img crossorigin>`, `fetch()`): every answer (images, info JSON, their 304s and errors) to a
 * listed `Origin` carries `Access-Control-Allow-Origin`, and preflight `OPTIONS` requests are
 * answered. With a list (not `*`) the answer depends on `Origin`, so `Vary: Origin` is added.
 */
import type { FastifyInstance } from 'fastify';
import type { CorsConfig } from '../delivery-config.js';

/** Response headers a page's script may read besides the CORS-safelisted ones. */
const EXPOSED = 'ETag, X-Image-Format-Token, X-Image-Fallback, Content-Disposition, Server-Timing';

/**
 * The CORS headers an answer gets, from the request's `Origin` and the answer's own `Vary`: the
 * headers to set (`vary` only when it changes). One function for the fastify hook and the hit path.
 */
export type CorsHeaders = (origin: string | undefined, vary: string | undefined) => Record<string, string>;

export function createCorsHeaders(cors: CorsConfig): CorsHeaders {
  const allowed = cors.origins === '*' ? undefined : new Set(cors.origins);
  return function corsHeaders(origin, vary) {
    const headers: Record<string, string> = {};
    if (allowed !== undefined) {
      const current = vary ?? '';
      if (!/(^|,)\s*origin\s*(,|$)/i.test(current)) headers.vary = current === '' ? 'Origin' : `${current}, Origin`;
    }
    const allowOrigin = allowed === undefined ? '*' : origin !== undefined && allowed.has(origin.toLowerCase()) ? origin : undefined;
    if (allowOrigin !== undefined) {
      headers['access-control-allow-origin'] = allowOrigin;
      headers['access-control-expose-headers'] = EXPOSED;
    }
    return headers;
  };
}

export function installCors(app: FastifyInstance, cors: CorsConfig): void {
  const corsHeaders = createCorsHeaders(cors);

  app.addHook('onSend', async function addCorsHeaders(request, reply, payload) {
    const vary = reply.getHeader('vary');
    reply.headers(corsHeaders(request.headers.origin, typeof vary === 'string' ? vary : undefined));
    return payload;
  });

  app.options('/*', async function preflight(request, reply) {
    const listed = 'access-control-allow-origin' in corsHeaders(request.headers.origin, undefined);
    if (listed) reply.header('access-control-allow-methods', 'GET, HEAD').header('access-control-max-age', String(cors.maxAgeSeconds));
    return reply.code(204).header('allow', 'GET, HEAD').header('cache-control', `public, max-age=${cors.maxAgeSeconds}`).send();
  });
}
