/**
 * A transparent HTTP/1.1 forwarder that writes down every exchange passing through it: the
 * request line and headers as they arrive, then the status the target answered. Put between a
 * cache and the origin, it shows exactly which requests reached the origin and with which
 * conditional headers, and it records each request before the origin (and so before the cache's
 * client) sees any answer, so "the origin saw nothing" can be asserted without waiting.
 */
import http from 'node:http';
import { listenOnLoopback } from './loopback-server.js';

export interface Exchange {
  readonly method: string;
  /** Path and query exactly as forwarded. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The target's status, once it answered; undefined while pending or when the target failed. */
  status?: number;
  responseHeaders?: http.IncomingHttpHeaders;
}

export interface RecordingProxy {
  readonly port: number;
  readonly exchanges: Exchange[];
  /** Exchanges whose URL starts with `pathPrefix` (path and query). */
  to(pathPrefix: string): Exchange[];
  close(): Promise<void>;
}

/** Connection-level headers a proxy must not forward (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

export async function startRecordingProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<RecordingProxy> {
  const exchanges: Exchange[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const exchange: Exchange = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    exchanges.push(exchange);
    const upstream = http.request(
      { host: targetHost, port: targetPort, method: req.method, path: req.url, headers: endToEnd(req.headers), agent },
      (answer) => {
        exchange.status = answer.statusCode;
        exchange.responseHeaders = answer.headers;
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(res);
      },
    );
    // The target is gone or broke off: break off too, as a dead origin would.
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const port = await listenOnLoopback(server);
  return {
    port,
    exchanges,
    to: (pathPrefix) => exchanges.filter((e) => e.url.startsWith(pathPrefix)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
