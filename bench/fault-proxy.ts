/**
 * A storage that fails now and then: an HTTP proxy on loopback in front of s3rver (it runs inside
 * the storage process, bench/storage-process.ts). For a share of the requests (5 % in `soak`) it
 * answers 500 InternalError or 503 SlowDown (S3's XML error bodies), resets the connection, or
 * stalls for a moment before forwarding; everything else is forwarded untouched (headers included,
 * so SigV4 signatures made for the proxy's host still verify at s3rver).
 *
 * Deterministic by seed: the fate of a request depends only on the seed, its method and path and
 * how many requests with that method and path came before it, not on how requests of different
 * keys interleave. Every fault is logged with its time and key, so the benchmark can tell a 502
 * the storage caused from one the origin made up.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from './workload.js';

export type FaultKind = 'error-500' | 'slowdown-503' | 'reset' | 'stall';
export const FAULT_KINDS: readonly FaultKind[] = ['error-500', 'slowdown-503', 'reset', 'stall'];

export interface FaultSettings {
  /** Share of requests that get a fault (0..1), the kinds taking equal shares of it. */
  readonly rate: number;
  readonly seed: number;
  /** How long a `stall` waits before forwarding (well under the origin's 10 s headers timeout). */
  readonly stallMs: number;
}

export interface FaultRecord {
  /** Wall-clock ms since the epoch when the request arrived. */
  readonly at: number;
  readonly method: string;
  /** The object key (path without the bucket, percent-decoded). */
  readonly key: string;
  /**
   * Not injected: `upstream-error`, s3rver failed; `abandoned`, the client (the origin) gave up
   * before the answer was complete (its timeout, or its own client hung up).
   */
  readonly kind: FaultKind | 'upstream-error' | 'abandoned';
}

export interface FaultLog {
  /** Requests the proxy received. */
  readonly requests: number;
  readonly faults: readonly FaultRecord[];
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: the S3_ENDPOINT that fails. */
  readonly endpoint: string;
  log(): FaultLog;
  close(): Promise<void>;
}

/** FNV-1a, to turn (seed, method, path, n) into the seed of that request's own random numbers. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The fate of the `n`-th request with this method and path: a fault kind, or undefined (forward). */
export function fateOf(settings: FaultSettings, method: string, path: string, n: number): FaultKind | undefined {
  const random = seededRandom(hash(`${settings.seed} ${method} ${path} ${n}`));
  if (random() >= settings.rate) return undefined;
  return FAULT_KINDS[Math.floor(random() * FAULT_KINDS.length)];
}

const s3ErrorBody = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;

/** Hop-by-hop headers are the proxy's own business on each side. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);

function keyOf(path: string, bucket: string): string {
  const bare = path.split('?')[0] ?? '';
  const prefix = `/${bucket}/`;
  const raw = bare.startsWith(prefix) ? bare.slice(prefix.length) : bare.replace(/^\//, '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export async function startFaultProxy(target: string, bucket: string, settings: FaultSettings): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const seen = new Map<string, number>();
  const faults: FaultRecord[] = [];
  const stalls = new Set<NodeJS.Timeout>();
  let requests = 0;

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, key: string, at: number) => {
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        const back = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
        res.writeHead(answer.statusCode ?? 502, back);
        answer.pipe(res);
        answer.once('error', () => res.destroy());
      },
    );
    out.once('error', () => {
      if (res.destroyed) return;
      faults.push({ at, method: req.method ?? '', key, kind: 'upstream-error' });
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'application/xml' }).end(s3ErrorBody('InternalError', 'upstream failed'));
    });
    // The origin gave up first: drop the upstream request too, or its socket stays taken (and
    // after `maxSockets` of them, every later request would wait for a socket that never frees).
    res.once('close', () => {
      if (res.writableFinished) return;
      faults.push({ at, method: req.method ?? '', key, kind: 'abandoned' });
      out.destroy();
    });
    req.pipe(out);
  };

  const server = http.createServer((req, res) => {
    requests++;
    const at = Date.now();
    const method = req.method ?? '';
    const path = req.url ?? '/';
    const id = `${method} ${path}`;
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    const key = keyOf(path, bucket);
    const fate = fateOf(settings, method, path, n);
    if (fate !== undefined) faults.push({ at, method, key, kind: fate });
    switch (fate) {
      case undefined:
        return forward(req, res, key, at);
      case 'error-500':
        return void res
          .writeHead(500, { 'content-type': 'application/xml' })
          .end(s3ErrorBody('InternalError', 'We encountered an internal error. Please try again.'));
      case 'slowdown-503':
        return void res.writeHead(503, { 'content-type': 'application/xml' }).end(s3ErrorBody('SlowDown', 'Please reduce your request rate.'));
      case 'reset':
        // A TCP RST, as a crashed or overloaded storage node gives.
        return void req.socket.resetAndDestroy();
      case 'stall': {
        const timer = setTimeout(() => {
          stalls.delete(timer);
          if (!req.socket.destroyed) forward(req, res, key, at);
        }, settings.stallMs);
        stalls.add(timer);
        return;
      }
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log: () => ({ requests, faults: [...faults] }),
    async close() {
      for (const timer of stalls) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}
