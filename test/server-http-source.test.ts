/** The whole origin with an http(s):// base URL as its source, served by a loopback server. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../origin/config.js';
import { createSource } from '../origin/sources/create-source.js';
import { decode } from './helpers/images.js';
import { startLoopbackServer, type LoopbackServer } from './helpers/loopback-server.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { CORPUS } from '../support/paths.js';

let storage: LoopbackServer;
let origin: RunningOrigin;
const logLines: string[] = [];
let stalledRequestClosed: () => void;
const stalledRequestWasClosed = new Promise<void>((resolve) => (stalledRequestClosed = resolve));

before(async () => {
  const photo = await readFile(path.join(CORPUS, 'photos/evening-glow-baseline.jpg'));
  storage = await startLoopbackServer((req, res) => {
    if (req.url === '/base/photo.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg', etag: '"v1"', 'content-length': photo.length });
      res.end(req.method === 'HEAD' ? undefined : photo);
    } else if (req.url === '/base/stall.jpg') {
      req.socket.once('close', () => stalledRequestClosed()); // never answered: only the origin can end it
    } else if (req.url === '/base/elsewhere.jpg') {
      res.writeHead(302, { location: 'http://127.0.0.2:1/steal.jpg' }).end();
    } else {
      res.writeHead(404).end();
    }
  });
  origin = await startOrigin(
    { ORIGIN_SOURCE: `${storage.origin}/base/`, ORIGIN_HTTP_ALLOW_PRIVATE: 'true' },
    { write: (line) => void logLines.push(line) },
  );
});
after(async () => {
  await origin.close();
  await storage.close();
});

describe('origin with an http(s):// source', () => {
  test('serves variants of objects under the base URL', async () => {
    const r = await rawGet(origin.url, '/photo.jpg?w=320&fm=webp');
    assert.equal(r.status, 200);
    const d = await decode(r.body);
    assert.deepEqual([d.format, d.width], ['webp', 320]);
  });

  test('missing objects are 404 and redirects off the base are 502 (never followed)', async () => {
    assert.equal((await rawGet(origin.url, '/missing.jpg')).status, 404);
    const r = await rawGet(origin.url, '/elsewhere.jpg');
    assert.equal(r.status, 502);
    assert.equal(jsonError(r).code, 'SOURCE_REDIRECT_REFUSED');
    assert.ok(!storage.requests.some((s) => s.url.includes('steal')));
  });

  test('a loopback base is refused at start-up unless explicitly allowed', async () => {
    const config = loadConfig({ ORIGIN_SOURCE: `${storage.origin}/base/` });
    await assert.rejects(createSource(config), (e) => e instanceof ConfigError && /ORIGIN_HTTP_ALLOW_PRIVATE/.test(e.message));
  });

  test('a host name resolving to loopback is refused when connecting', async () => {
    const guarded = await startOrigin({ ORIGIN_SOURCE: `http://localhost:${storage.port}/base/` });
    try {
      const before = storage.requests.length;
      const r = await rawGet(guarded.url, '/photo.jpg?w=10');
      assert.equal(r.status, 502);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.equal(storage.requests.length, before, 'nothing reached the loopback server');
    } finally {
      await guarded.close();
    }
  });

  test('a client that hangs up aborts the storage request and is logged as 499, not as an error', async () => {
    const firstLine = logLines.length;
    const client = new AbortController();
    const pending = fetch(`${origin.url}/stall.jpg?w=10`, { signal: client.signal }).catch((e: Error) => e.name);
    while (!storage.requests.some((r) => r.url === '/base/stall.jpg')) await new Promise((r) => setTimeout(r, 20));
    client.abort();
    assert.equal(await pending, 'AbortError');
    await stalledRequestWasClosed;
    const linesOfThisRequest = () =>
      logLines.slice(firstLine).map((l) => JSON.parse(l) as { path?: string; status?: number; level: number });
    while (!linesOfThisRequest().some((l) => l.path === '/stall.jpg')) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50)); // room for a wrongly logged error to show up
    assert.deepEqual(linesOfThisRequest().map((l) => [l.status, l.level]), [[499, 30]]);
  });
});
