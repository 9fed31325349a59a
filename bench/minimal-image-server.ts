/**
 * Child process for `coldstart`: the least a Node.js image server does before its first image.
 * It loads sharp, listens, and answers every GET with a 200x200 WebP cover crop of the file the
 * path names in MINIMAL_SOURCE_DIR: no configuration, validation, caches, metrics or logging.
 * Its spawn-to-first-image time, measured beside the origin's, is the floor of Node and sharp on
 * the host at that moment. Environment: PORT, MINIMAL_SOURCE_DIR.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';

const dir = process.env['MINIMAL_SOURCE_DIR'] ?? '.';
const server = http.createServer((request, response) => {
  const file = path.join(dir, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
  readFile(file)
    .then((bytes) => sharp(bytes).rotate().resize(200, 200, { fit: 'cover' }).webp().toBuffer())
    .then(
      (body) => response.writeHead(200, { 'content-type': 'image/webp', 'content-length': body.length }).end(body),
      () => response.writeHead(404).end(),
    );
});
server.listen(Number(process.env['PORT']), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
