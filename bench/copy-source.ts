/**
 * A plain HTTP file server for the `peer` scenario, run inside the storage child: it serves each
 * base image under any number of distinct paths, `/copy/<n>/<base key>`, so that the origin and
 * ipx can each be sent a stream of originals neither has seen (a feed of new posts) without
 * storing thousands of copies. Both fetch from it over HTTP, the way ipx's own HTTP storage works
 * (a HEAD, then a GET per request) and the origin's HTTP source does (one GET per new original).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CopySource {
  /** Base URL ending in `/`, e.g. `http://127.0.0.1:4100/`. */
  readonly url: string;
  close(): Promise<void>;
}

const LAST_MODIFIED = new Date('2026-01-01T00:00:00Z').toUTCString();
const TYPES: Readonly<Record<string, string>> = { jpg: 'image/jpeg', png: 'image/png' };

export async function startCopySource(bodies: ReadonlyMap<string, Buffer>): Promise<CopySource> {
  const server = http.createServer((req, res) => {
    const match = /^\/copy\/(\d+)\/(.+)$/.exec(decodeURIComponent((req.url ?? '').split('?')[0] ?? ''));
    const body = match ? bodies.get(match[2] ?? '') : undefined;
    if (!match || !body || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    const etag = `"${createHash('sha1').update(req.url ?? '').digest('hex').slice(0, 16)}"`;
    res.writeHead(200, {
      'content-type': TYPES[(match[2] ?? '').split('.').pop() ?? ''] ?? 'application/octet-stream',
      'content-length': body.byteLength,
      etag,
      'last-modified': LAST_MODIFIED,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
