/**
 * `/metrics`, Prometheus text; never shed, never cached. Open on the metrics port; on the
 * CDN-facing port a 404 unless `ORIGIN_METRICS_ON_MAIN_PORT` gave it a bearer token, and then a
 * 401 without `Authorization: Bearer <token>`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AuthRequiredError, NotFoundError } from '../../errors.js';
import { METRICS_CONTENT_TYPE, type Metrics } from '../../metrics.js';
import { createSecretMatcher } from '../secret-match.js';

async function sendMetrics(reply: FastifyReply, metrics: Metrics): Promise<FastifyReply> {
  const body = await metrics.text();
  return reply.header('content-type', METRICS_CONTENT_TYPE).header('cache-control', 'no-store').send(body);
}

/** The metrics port: nothing but metrics is served there, and only the platform reaches it. */
export function installMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_request, reply) => sendMetrics(reply, metrics));
}

/** The CDN-facing port: `/metrics` stays reserved (never an image key), and private. */
export function installMainPortMetricsRoute(app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  const matches = createSecretMatcher(token === undefined ? [] : [token]);
  app.get('/metrics', async (request, reply) => {
    if (token === undefined) throw new NotFoundError('not found');
    const authorization = request.headers.authorization;
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
    if (!matches(bearer)) {
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new AuthRequiredError('METRICS_AUTH_REQUIRED', 'metrics need Authorization: Bearer <ORIGIN_METRICS_TOKEN>');
    }
    return sendMetrics(reply, metrics);
  });
}
