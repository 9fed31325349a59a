/**
 * Back-to-origin authentication: with `ORIGIN_REQUIRE_HEADER` set, only requests carrying the
 * shared-secret header the CDN adds reach images, info and OSS URLs; anything else is 403
 * `ORIGIN_AUTH_REQUIRED` with `no-store` (README: "Back-to-origin authentication"). The probes stay
 * open for the platform, and `/metrics` has its own token.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { RequiredHeader } from '../config.js';
import { AuthRequiredError } from '../errors.js';
import { createSecretMatcher } from './secret-match.js';

/** Routes that never need the header (by route pattern, so `HEAD /healthz` is open too). */
const OPEN_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** Whether a request's headers carry the required one (the fastify hook and the hit path). */
export function createBackToOriginCheck(required: RequiredHeader): (headers: IncomingHttpHeaders) => boolean {
  const matches = createSecretMatcher(required.values);
  return (headers) => {
    // A header sent twice arrives joined with ", " and matches no value: refused, as it should be.
    const given = headers[required.name];
    return matches(typeof given === 'string' ? given : undefined);
  };
}

export function installRequiredHeader(app: FastifyInstance, required: RequiredHeader): void {
  const carriesHeader = createBackToOriginCheck(required);
  app.addHook('onRequest', function requireBackToOriginHeader(request, _reply, done) {
    if (OPEN_ROUTES.has(request.routeOptions.url ?? '') || carriesHeader(request.headers)) return done();
    done(new AuthRequiredError('ORIGIN_AUTH_REQUIRED', 'this origin only answers its CDN'));
  });
}
