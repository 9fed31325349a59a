/**
 * A storage server on loopback that misbehaves on command, per key: the origin's HTTP source
 * (`http://127.0.0.1:<port>/base/<key>`) or its S3 source (path style, `/<bucket>/<key>`) reads
 * from it, and a test switches one key between healthy and a fault while the origin runs. Faults
 * are real socket behaviour: resets mid-body, bodies shorter than their Content-Length, headers
 * that never come, bodies dripped a byte at a time, error statuses with S3 XML error documents
 * and Retry-After, HTML instead of an image, and bodies far above any size limit. Every request is
 * recorded (see loopback-server.ts), so a test can count what reached the storage per key.
 */
import type http from 'node:http';
import { startLoopbackServer, type LoopbackServer, type SeenRequest } from './loopback-server.js';

export type Fault =
  | { readonly kind: 'reset-mid-body' }
  /** Declares more bytes than it sends, then ends the connection. */
  | { readonly kind: 'truncated' }
  | { readonly kind: 'stall-headers' }
  /** One byte every `everyMs`, for ever: each chunk within the body timeout, the whole never. */
  | { readonly kind: 'drip'; readonly everyMs: number }
  /** An error answer; with `code`, an S3 XML error document as its body (none for HEAD). */
  | { readonly kind: 'status'; readonly status: number; readonly code?: string; readonly retryAfter?: string; readonly location?: string }
  | { readonly kind: 'html' }
  /** `bytes` of zeros, with or without Content-Length (chunked), written as fast as read. */
  | { readonly kind: 'oversized'; readonly bytes: number; readonly declared: boolean };

export interface FaultStorage {
  readonly server: LoopbackServer;
  /** The bytes a healthy key answers with. */
  readonly image: Buffer;
  /** Sets (or with `undefined` clears) the fault of `key`; keys without one are healthy. */
  set(key: string, fault: Fault | undefined): void;
  /** Requests that reached the storage for `key` (after the first path segment), optionally by method. */
  requestsFor(key: string, method?: string): SeenRequest[];
  close(): Promise<void>;
}

const HTML = Buffer.from('<!doctype html><html><head><title>Service Unavailable</title></head><body>try later</body></html>');
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';

/** The key a request names: everything after its first path segment (`/base/` or `/<bucket>/`). */
function keyOf(url: string): string {
  const pathname = url.split('?')[0] ?? '';
  return decodeURIComponent(pathname.replace(/^\/[^/]*\//, ''));
}

const s3Xml = (code: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>scripted</Message><RequestId>r</RequestId></Error>`;

/** Writes `total` bytes as fast as the reader takes them, stopping when the connection goes. */
function pump(res: http.ServerResponse, total: number): void {
  const chunk = Buffer.alloc(64 * 1024);
  let sent = 0;
  const more = (): void => {
    while (!res.destroyed && sent < total) {
      const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
      sent += piece.length;
      if (!res.write(piece)) return void res.once('drain', more);
    }
    if (!res.destroyed) res.end();
  };
  more();
}

function answerFault(fault: Fault, req: http.IncomingMessage, res: http.ServerResponse): void {
  const head = req.method === 'HEAD';
  switch (fault.kind) {
    case 'reset-mid-body':
      res.writeHead(200, { 'content-length': '4096', etag: '"reset"' });
      return void res.write(Buffer.alloc(100), () => req.socket.resetAndDestroy());
    case 'truncated':
      res.writeHead(200, { 'content-length': '4096', etag: '"short"' });
      return void res.write(Buffer.alloc(100), () => req.socket.end());
    case 'stall-headers':
      return; // never answers; close() drops the connection
    case 'drip': {
      res.writeHead(200, { etag: '"drip"' });
      const timer = setInterval(() => res.write('x'), fault.everyMs);
      return void res.once('close', () => clearInterval(timer));
    }
    case 'status': {
      const body = fault.code === undefined || head ? undefined : s3Xml(fault.code);
      res.writeHead(fault.status, {
        'content-type': 'application/xml',
        ...(fault.retryAfter !== undefined && { 'retry-after': fault.retryAfter }),
        ...(fault.location !== undefined && { location: fault.location }),
      });
      return void res.end(body);
    }
    case 'html':
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(HTML.length), etag: '"html"' });
      return void res.end(head ? undefined : HTML);
    case 'oversized':
      res.writeHead(200, { etag: '"big"', ...(fault.declared && { 'content-length': String(fault.bytes) }) });
      return head ? void res.end() : pump(res, fault.bytes);
  }
}

export async function startFaultStorage(image: Buffer): Promise<FaultStorage> {
  const faults = new Map<string, Fault>();
  const server = await startLoopbackServer((req, res) => {
    const fault = faults.get(keyOf(req.url ?? ''));
    if (fault !== undefined) return answerFault(fault, req, res);
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(image.length), etag: '"healthy"', 'last-modified': LAST_MODIFIED });
    res.end(req.method === 'HEAD' ? undefined : image);
  });
  return {
    server,
    image,
    set: (key, fault) => void (fault === undefined ? faults.delete(key) : faults.set(key, fault)),
    requestsFor: (key, method) => server.requests.filter((r) => keyOf(r.url) === key && (method === undefined || r.method === method)),
    close: () => server.close(),
  };
}
