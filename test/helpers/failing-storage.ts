/**
 * The storage behind the CDN-cache suites (nginx, Varnish): the files of a folder over HTTP with
 * ETag and Last-Modified, HEAD answered without a body, and any key put in `failing` answering
 * 500, so a suite can take its storage down for one key and bring it back.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { startLoopbackServer, type LoopbackServer } from './loopback-server.js';

export type FailingStorage = LoopbackServer & { readonly failing: Set<string> };

export async function startFailingStorage(dir: string): Promise<FailingStorage> {
  const failing = new Set<string>();
  const server = await startLoopbackServer((req, res) => {
    const key = decodeURIComponent(new URL(req.url ?? '/', 'http://storage').pathname.slice(1));
    if (failing.has(key)) return void res.writeHead(500).end('storage is down');
    const file = path.join(dir, path.basename(key));
    stat(file).then(
      async (info) => {
        res.writeHead(200, {
          'content-type': 'image/jpeg',
          'content-length': info.size,
          etag: `"${info.size.toString(36)}-${Math.trunc(info.mtimeMs).toString(36)}"`,
          'last-modified': info.mtime.toUTCString(),
        });
        res.end(req.method === 'HEAD' ? undefined : await readFile(file));
      },
      () => res.writeHead(404).end(),
    );
  });
  return Object.assign(server, { failing });
}
