/**
 * Connections that fail before a request exists: too slow to send one (the request timeout: 408)
 * or not HTTP (400; 431 for oversized headers). Node hands them here instead of to a route; they
 * get the shared JSON error shape with `no-store`, are counted like any answer, and the connection
 * is closed. Only a connection that has had no answer yet gets one: on a keep-alive connection the
 * client may already be sending its next request, and a stray 408 would be read as its answer.
 */
import type { ConnectionError } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Metrics } from '../metrics.js';

interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

function refusalFor(error: ConnectionError): Refusal {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' };
  if (error.code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'HEADERS_TOO_LARGE', message: 'the request headers are too large' };
  return { status: 400, code: 'BAD_REQUEST', message: 'malformed HTTP request' };
}

function rawAnswer({ status, code, message }: Refusal): string {
  const body = JSON.stringify({ error: { code, message } });
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'cache-control: no-store',
    'connection: close',
    '',
    body,
  ].join('\r\n');
}

export function createClientErrorHandler(metrics: Metrics): (error: ConnectionError, socket: Socket) => void {
  return function answerClientError(error, socket) {
    // The peer reset or the socket is gone: nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const refusal = refusalFor(error);
    if (socket.writable && socket.bytesWritten === 0) {
      metrics.countRequest(refusal.status);
      // Written before the socket is destroyed, as Node does: a fresh socket takes it at once.
      socket.write(rawAnswer(refusal));
    }
    // Not end(): HTTP sockets allow half-open, and a slow client would hold one open for ever.
    socket.destroy();
  };
}
