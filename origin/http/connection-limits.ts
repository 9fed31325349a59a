/**
 * Bounds on every connection, whatever the client does (README: "Bounded connections"):
 *
 * - the whole request (headers and body) must arrive within the request timeout: Node's
 *   `headersTimeout` and `requestTimeout`, which also cut a client that never sends a byte;
 * - no byte either way for the idle timeout closes the socket (`server.timeout`); it is longer
 *   than the request deadline, because a request the origin works on writes nothing meanwhile;
 * - between requests, a keep-alive connection waits the keep-alive timeout;
 * - once the answer is being written, the socket timer is the send timeout: a client that takes
 *   no byte for that long is dropped. Node compares the write queue at each expiry and re-arms
 *   the timer when it has shrunk, so a slow reader that makes progress keeps going, and a stalled
 *   one is cut between one and two periods after its last byte;
 * - a connection carries at most `maxRequestsPerSocket` requests.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { createServer, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { ConnectionConfig } from '../config.js';

/** fastify's server options for these limits. */
export function connectionOptions(limits: ConnectionConfig): FastifyServerOptions & { http: ServerOptions } {
  return {
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: {
      headersTimeout: limits.requestTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks both timeouts on this interval (30 s by default), so a request could outlive
      // its timeout by that much; a quarter of the timeout, at most a second, keeps it close.
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(limits.requestTimeoutMs / 4))),
    },
  };
}

/**
 * An HTTP server with these limits, for fastify's `serverFactory` (fastify applies them itself
 * only to a server it makes).
 */
export function createLimitedServer(limits: ConnectionConfig, listener: RequestListener): Server {
  const options = connectionOptions(limits);
  const server = createServer(options.http, listener);
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.setTimeout(limits.idleTimeoutMs);
  if (limits.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  return server;
}

/** Switches the socket's inactivity timer to the send timeout when the answer starts. */
export function installSendTimeout(app: FastifyInstance, sendTimeoutMs: number): void {
  app.addHook('onSend', function sendTimeout(_request, reply, payload, done) {
    armSendTimeout(reply.raw, sendTimeoutMs);
    done(null, payload);
  });
}

/** The send timeout for one answer (the fastify hook and the hit path). */
export function armSendTimeout(response: ServerResponse, sendTimeoutMs: number): void {
  // After the answer Node sets the keep-alive timer, and the idle timer for the next request.
  response.socket?.setTimeout(sendTimeoutMs);
}
