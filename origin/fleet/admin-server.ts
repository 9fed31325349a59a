/**
 * The admin listener (`ORIGIN_ADMIN_PORT`): storage events, purge, block and unblock, each behind
 * `Authorization: Bearer <ORIGIN_ADMIN_TOKEN>` (401 otherwise, compared in constant time). Bodies
 * are read as text whatever their type (SNS sends `text/plain`, MNS XML), up to 1 MiB.
 */
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import * as z from 'zod';
import { OriginError } from '../../transforms/errors.js';
import type { ConnectionConfig, SourceConfig } from '../config.js';
import { connectionOptions } from '../http/connection-limits.js';
import { createSecretMatcher } from '../http/secret-match.js';
import type { Metrics } from '../metrics.js';
import { toSourceKey } from '../sources/parse-key.js';
import type { SourceKey } from '../sources/source.js';
import { sourceKeyOf } from './event-scope.js';
import type { Prerenderer } from './prerender.js';
import { EventFormatError, parseStorageEvents } from './storage-events.js';
import type { Takedown } from './takedown.js';

export interface AdminDeps {
  readonly token: string;
  readonly source: SourceConfig;
  readonly takedown: Takedown;
  /** Undefined when ORIGIN_PRERENDER is empty: created objects then only drop local copies. */
  readonly prerender?: Prerenderer | undefined;
  readonly metrics: Metrics;
  readonly logger: FastifyBaseLogger;
  readonly connections: ConnectionConfig;
}

const BODY_LIMIT = 1024 * 1024;
/** Seconds an event system waits before re-delivering an event refused for a full queue. */
const RETRY_AFTER_SECONDS = 30;

const keysBody = z.object({ keys: z.array(z.string().min(1)).min(1).max(1_000), reason: z.string().max(1_000).optional() });

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.status(status).header('cache-control', 'no-store').send({ error: { code, message } });
}

/** The body's keys, each checked like a request's key; 400 naming the bad ones. */
function readKeys(body: unknown): { keys: SourceKey[]; reason: string | undefined } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(body ?? ''));
  } catch {
    throw new AdminInputError('the body must be JSON: {"keys": ["photos/a.jpg", ...]}');
  }
  const checked = keysBody.safeParse(parsed);
  if (!checked.success) throw new AdminInputError(`expected {"keys": [1 to 1000 keys], "reason"?: text}: ${checked.error.issues[0]?.message ?? ''}`);
  const keys = checked.data.keys.map((k) => {
    try {
      return toSourceKey(k.replace(/^\//, ''));
    } catch (error) {
      throw new AdminInputError(`"${k}": ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  return { keys, reason: checked.data.reason };
}

class AdminInputError extends Error {}

export function buildAdminServer(deps: AdminDeps): FastifyInstance {
  const app = fastify({
    loggerInstance: deps.logger,
    ...connectionOptions(deps.connections),
    bodyLimit: BODY_LIMIT,
    logController: new LogController({ disableRequestLogging: true }),
  });
  const matches = createSecretMatcher([deps.token]);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.addHook('onRequest', async (request, reply) => {
    const authorization = request.headers.authorization;
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
    if (!matches(bearer)) {
      reply.header('www-authenticate', 'Bearer realm="admin"');
      return sendError(reply, 401, 'ADMIN_AUTH_REQUIRED', 'admin requests need Authorization: Bearer <ORIGIN_ADMIN_TOKEN>');
    }
    return undefined;
  });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof AdminInputError || error instanceof EventFormatError || error instanceof SyntaxError) return sendError(reply, 400, 'INVALID_ADMIN_REQUEST', error.message);
    if (error instanceof OriginError) return sendError(reply, error.status, error.code, error.message);
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return sendError(reply, status, 'INVALID_ADMIN_REQUEST', error instanceof Error ? error.message : String(error));
    deps.logger.error({ err: error }, 'admin request failed');
    return sendError(reply, 502, 'ADMIN_FAILED', 'the result store or block list could not be updated; try again');
  });

  app.post('/events', async (request, reply) => {
    const parsed = parseStorageEvents(String(request.body ?? ''));
    if (parsed.subscribeUrl) deps.logger.warn({ subscribeUrl: parsed.subscribeUrl }, 'SNS subscription to confirm: open the SubscribeURL once');
    const summary = { queued: 0, duplicate: 0, ignored: 0, purged: 0, skipped: parsed.skipped };
    const removed: SourceKey[] = [];
    let full = false;
    for (const event of parsed.events) {
      const key = sourceKeyOf(deps.source, event);
      if (key === undefined) {
        summary.ignored++;
        deps.metrics.prerender.inc({ result: 'ignored' });
        continue;
      }
      if (event.action === 'removed') {
        removed.push(key);
        continue;
      }
      // A created (or replaced) object: this replica's old copies go; new names follow from the new ETag.
      deps.takedown.forgetLocally(key);
      if (!deps.prerender) continue;
      const offered = deps.prerender.offer(key, event.etag);
      if (offered === 'full') {
        full = true;
        deps.metrics.prerender.inc({ result: 'rejected' });
        continue;
      }
      summary[offered]++;
      if (offered === 'duplicate') deps.metrics.prerender.inc({ result: 'duplicate' });
    }
    if (removed.length > 0) summary.purged = (await deps.takedown.purge(removed)).reduce((n, p) => n + p.memory + p.stored, 0);
    if (full) {
      // The event system retries (or dead-letters) it; what was queued is a duplicate then.
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return reply.status(503).header('cache-control', 'no-store').send({ error: { code: 'PRERENDER_QUEUE_FULL', message: 'the pre-render queue is full; deliver again later' }, ...summary });
    }
    return reply.status(202).header('cache-control', 'no-store').send(summary);
  });

  app.post('/purge', async (request) => {
    const { keys } = readKeys(request.body);
    return { purged: await deps.takedown.purge(keys) };
  });

  app.post('/block', async (request) => {
    const { keys, reason } = readKeys(request.body);
    const { purged, fleetWide } = await deps.takedown.block(keys, reason ?? '');
    return { blocked: keys, purged, fleetWide };
  });

  app.post('/unblock', async (request) => {
    const { keys } = readKeys(request.body);
    const { fleetWide } = await deps.takedown.unblock(keys);
    return { unblocked: keys, fleetWide };
  });

  return app;
}
