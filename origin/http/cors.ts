/**
 * CORS for `ORIGIN_CORS_ORIGINS`, so pages on other origins can draw images onto a canvas
 * (`<img crossorigin>`, `fetch()`): every answer (images, info JSON, their 304s and errors) to a
 * listed `Origin` carries `Access-Control-Allow-Origin`, and preflight `OPTIONS` requests are
 * answered. With a list (not `*`) the answer depends on `Origin`, so `Vary: Origin` is added.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CorsConfig } from '../delivery-config.js';

/** Response headers a page's script may read besides the CORS-safelisted ones. */
const EXPOSED = 'ETag, X-Image-Format-Token, X-Image-Fallback, Content-Disposition, Server-Timing';

export function installCors(app: FastifyInstance, cors: CorsConfig): void {
  const allowed = cors.origins === '*' ? undefined : new Set(cors.origins);
  const allowOrigin = (origin: string | undefined): string | undefined => {
    if (allowed === undefined) return '*';
    return origin !== undefined && allowed.has(origin.toLowerCase()) ? origin : undefined;
  };

  app.addHook('onSend', async function corsHeaders(request, reply, payload) {
    if (allowed !== undefined) addVaryOrigin(reply);
    const origin = allowOrigin(request.headers.origin);
    if (origin !== undefined) reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', EXPOSED);
    return payload;
  });

  app.options('/*', async function preflight(request, reply) {
    const listed = allowOrigin(request.headers.origin) !== undefined;
    if (listed) reply.header('access-control-allow-methods', 'GET, HEAD').header('access-control-max-age', String(cors.maxAgeSeconds));
    return reply.code(204).header('allow', 'GET, HEAD').header('cache-control', `public, max-age=${cors.maxAgeSeconds}`).send();
  });
}

function addVaryOrigin(reply: FastifyReply): void {
  const vary = reply.getHeader('vary');
  const current = typeof vary === 'string' ? vary : '';
  if (!/(^|,)\s*origin\s*(,|$)/i.test(current)) reply.header('vary', current === '' ? 'Origin' : `${current}, Origin`);
}
