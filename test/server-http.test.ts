/**
 * The HTTP contract a CDN relies on, through the real server over loopback sockets: caching
 * headers, canonical variants sharing one ETag, 304s that fetch nothing, HEAD, JSON errors for
 * every kind of bad input, and refusing every path-traversal spelling without reading the file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decode } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { readCorpus } from '../support/corpus.js';
import { CORPUS, fixture } from '../support/paths.js';

const SECRET = 'TOP-SECRET-CONTENT-OUTSIDE-THE-ROOT';
let root: string;
let origin: RunningOrigin;
const logLines: string[] = [];

before(async () => {
  // images/ is the served folder; secret.txt and outside.jpg sit beside it, reachable only by escaping.
  const base = await mkdtemp(path.join(os.tmpdir(), 'origin-http-'));
  root = path.join(base, 'images');
  await mkdir(path.join(root, 'nested'), { recursive: true });
  await writeFile(path.join(base, 'secret.txt'), SECRET);
  await copyFile(path.join(CORPUS, 'edge/1x1.jpg'), path.join(base, 'outside.jpg'));
  await copyFile(path.join(CORPUS, 'photos/evening-glow-baseline.jpg'), path.join(root, 'photo.jpg'));
  await copyFile(path.join(CORPUS, 'photos/evening-glow-baseline.jpg'), path.join(root, 'nested', 'my photo+1 été.jpg'));
  await copyFile(fixture('bomb-10000x10000.png'), path.join(root, 'bomb.png'));
  const photo = await readFile(path.join(CORPUS, 'photos/evening-glow-baseline.jpg'));
  await writeFile(path.join(root, 'truncated.jpg'), photo.subarray(0, photo.length / 2));
  await writeFile(path.join(root, 'text.jpg'), 'this is not an image at all');
  await writeFile(path.join(root, 'empty.jpg'), '');
  await copyFile(path.join(CORPUS, 'formats/photo.jxl'), path.join(root, 'jpegxl.jpg'));
  await copyFile(path.join(CORPUS, 'formats/photo-hevc.heic'), path.join(root, 'iphone.heic'));
  await symlink(path.join(base, 'secret.txt'), path.join(root, 'link-to-secret.jpg'));
  await symlink(path.join(base, 'outside.jpg'), path.join(root, 'link-to-outside.jpg'));
  await symlink('photo.jpg', path.join(root, 'link-inside.jpg'));
  // In-memory tiers off: every request here takes the full path (the tiers have their own tests).
  origin = await startOrigin(
    { ORIGIN_SOURCE: `fs:${root}`, ORIGIN_SOURCE_MAX_BYTES: String(1_000_000), ORIGIN_ORIGINALS_CACHE_BYTES: '0', ORIGIN_VARIANTS_CACHE_BYTES: '0' },
    { write: (l) => void logLines.push(l) },
  );
});
after(() => origin.close());

const get = (p: string, headers: Record<string, string> = {}) => rawGet(origin.url, p, headers);

describe('cacheable responses', () => {
  test('a variant carries everything a CDN needs', async () => {
    const r = await get('/photo.jpg?w=400&fm=webp');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/webp');
    assert.equal(Number(r.headers['content-length']), r.body.byteLength);
    assert.match(String(r.headers['cache-control']), /max-age=31536000.*stale-while-revalidate=\d+.*stale-if-error=\d+/);
    assert.match(String(r.headers.etag), /^"[A-Za-z0-9_-]{27}"$/);
    assert.ok(!Number.isNaN(Date.parse(String(r.headers['last-modified']))));
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.match(String(r.headers['server-timing']), /^source;dur=[\d.]+, transform;dur=[\d.]+$/);
    const decoded = await decode(r.body);
    assert.deepEqual([decoded.format, decoded.width, decoded.height], ['webp', 400, 250]);
  });

  test('an iPhone HEIC is served like any photo: WebP for WebP clients, JPEG for the others', async () => {
    const webp = await get('/iphone.heic?w=400', { accept: 'image/webp,*/*' });
    assert.equal(webp.status, 200);
    assert.equal(webp.headers['content-type'], 'image/webp');
    const legacy = await get('/iphone.heic?w=400');
    const decoded = await Promise.all([webp, legacy].map((r) => decode(r.body)));
    assert.deepEqual(decoded.map((d) => [d.format, d.width, d.height]), [['webp', 400, 250], ['jpeg', 400, 250]]);
  });

  test('one variant, one ETag: parameter order, defaults and DPR spellings do not matter', async () => {
    const etag = async (q: string) => (await get(`/photo.jpg?${q}`)).headers.etag;
    const a = await etag('w=100&fm=webp');
    assert.equal(await etag('fm=webp&w=100'), a);
    assert.notEqual(await etag('w=100&fm=webp&q=80'), a, 'a fixed quality is not the quality target');
    assert.equal(await etag('fm=webp&q=80&w=100'), await etag('w=100&fm=webp&q=80'));
    assert.equal(await etag('w=50&dpr=2&fm=webp&fit=inside&enlarge=0'), a);
    assert.notEqual(await etag('w=101&fm=webp'), a);
    assert.notEqual(await etag('w=100&fm=webp&q=81'), a);
  });

  test('HEAD answers the same headers without a body', async () => {
    const head = await rawGet(origin.url, '/photo.jpg?w=120&fm=png', {}, 'HEAD');
    const full = await get('/photo.jpg?w=120&fm=png');
    assert.equal(head.status, 200);
    assert.equal(head.body.byteLength, 0);
    assert.equal(head.headers['content-length'], full.headers['content-length']);
    assert.equal(head.headers.etag, full.headers.etag);
  });

  test('keys with spaces, + and non-ASCII characters are served', async () => {
    const r = await get(`/nested/${encodeURIComponent('my photo+1 été.jpg')}?w=64&fm=png`);
    assert.equal(r.status, 200);
  });

  test('symlinks that stay inside the folder are followed', async () => {
    assert.equal((await get('/link-inside.jpg?w=10')).status, 200);
  });
});

describe('conditional requests', () => {
  async function fresh() {
    const r = await get('/photo.jpg?w=200&fm=avif');
    assert.equal(r.status, 200);
    return r;
  }

  test('If-None-Match with the ETag answers 304 after a stat only: no fetch, no transform', async () => {
    const { headers } = await fresh();
    const before = { ...origin.calls };
    const r = await get('/photo.jpg?w=200&fm=avif', { 'if-none-match': String(headers.etag) });
    assert.equal(r.status, 304);
    assert.equal(r.body.byteLength, 0);
    assert.equal(r.headers.etag, headers.etag);
    assert.equal(r.headers['cache-control'], headers['cache-control']);
    assert.doesNotMatch(String(r.headers['server-timing']), /transform/);
    assert.deepEqual({ fetch: origin.calls.fetch - before.fetch, stat: origin.calls.stat - before.stat }, { fetch: 0, stat: 1 });
  });

  test('lists, weak tags and * match; other tags do not', async () => {
    const { headers } = await fresh();
    const etag = String(headers.etag);
    for (const value of [`"nope", ${etag}`, `W/${etag}`, '*']) {
      assert.equal((await get('/photo.jpg?w=200&fm=avif', { 'if-none-match': value })).status, 304, value);
    }
    assert.equal((await get('/photo.jpg?w=200&fm=avif', { 'if-none-match': '"nope"' })).status, 200);
    assert.equal((await get('/photo.jpg?w=201&fm=avif', { 'if-none-match': etag })).status, 200, 'another variant');
  });

  test('If-Modified-Since answers 304 when the source has not changed since', async () => {
    const { headers } = await fresh();
    const before = origin.calls.fetch;
    const since = String(headers['last-modified']);
    assert.equal((await get('/photo.jpg?w=200&fm=avif', { 'if-modified-since': since })).status, 304);
    assert.equal(origin.calls.fetch, before);
    const earlier = new Date(Date.parse(since) - 60_000).toUTCString();
    assert.equal((await get('/photo.jpg?w=200&fm=avif', { 'if-modified-since': earlier })).status, 200);
  });

  test('a negotiated 304 keeps Vary: Accept', async () => {
    const accept = 'image/webp,*/*';
    const first = await get('/photo.jpg?w=90', { accept });
    const r = await get('/photo.jpg?w=90', { accept, 'if-none-match': String(first.headers.etag) });
    assert.equal(r.status, 304);
    assert.equal(r.headers.vary, 'Accept, X-Image-Format-Token');
    const avif = await get('/photo.jpg?w=90', { accept: 'image/avif,*/*', 'if-none-match': String(first.headers.etag) });
    assert.equal(avif.status, 200, 'an AVIF client does not match the WebP ETag');
  });
});

describe('refusals', () => {
  const traversals = [
    '/../secret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/..%2fsecret.txt', '/%2E%2E%2Fsecret.txt',
    '/nested/../../secret.txt', '/nested/%2e%2e/%2e%2e/secret.txt', '//etc/passwd', '/%2fetc%2fpasswd',
    '/photo.jpg%00.png', '/..%5csecret.txt', '/%5c..%5csecret.txt', '/./photo.jpg', '/link-to-secret.jpg',
    '/link-to-outside.jpg', '/%252e%252e%252fsecret.txt',
  ];
  for (const attempt of traversals) {
    test(`traversal ${attempt} is a JSON 4xx that never shows the file`, async () => {
      const r = await get(attempt);
      assert.ok(r.status === 400 || r.status === 404, `${attempt}: ${r.status}`);
      assert.doesNotMatch(r.body.toString('latin1'), /TOP-SECRET|root:/);
      assert.ok(jsonError(r).code);
    });
  }

  const bad: [string, number, string][] = [
    ['/missing.jpg', 404, 'NOT_FOUND'],
    ['/nested', 404, 'NOT_FOUND'],
    ['/truncated.jpg?w=100', 422, 'UNREADABLE_IMAGE'],
    ['/text.jpg?w=100', 415, 'UNSUPPORTED_FORMAT'],
    ['/empty.jpg', 415, 'UNSUPPORTED_FORMAT'],
    ['/jpegxl.jpg?w=100', 415, 'UNSUPPORTED_FORMAT'],
    ['/bomb.png?w=100', 422, 'IMAGE_TOO_LARGE'],
    ['/%E0%A4%A', 400, 'INVALID_KEY'],
    ['/', 400, 'INVALID_KEY'],
  ];
  for (const [p, status, code] of bad) {
    test(`${p} answers ${status} ${code} with a short public Cache-Control`, async () => {
      const r = await get(p);
      assert.equal(r.status, status);
      assert.equal(jsonError(r).code, code);
      assert.equal(r.headers['cache-control'], 'public, max-age=60');
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    });
  }

  test('a source above ORIGIN_SOURCE_MAX_BYTES is 413 (the test origin allows 1 MB)', async () => {
    await writeFile(path.join(root, 'big.jpg'), await readCorpus('photos/the-mouse-3840x2400.jpg'));
    const r = await get('/big.jpg?w=100');
    assert.equal(r.status, 413);
    assert.equal(jsonError(r).code, 'SOURCE_TOO_LARGE');
  });

  test('methods other than GET and HEAD are 405 with Allow', async () => {
    const r = await rawGet(origin.url, '/photo.jpg', {}, 'DELETE');
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD');
  });
});

describe('operations', () => {
  test('/healthz and /readyz answer', async () => {
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/readyz')).status, 200);
  });

  test('one JSON log line per request with key, variant, status, durations and bytes', async () => {
    logLines.length = 0;
    await get('/photo.jpg?w=77&fm=webp', { authorization: 'Bearer do-not-log-me' });
    await get('/missing.jpg');
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    const [ok, missing] = lines;
    assert.equal(ok!.status, 200);
    assert.equal(ok!.path, '/photo.jpg');
    assert.match(String(ok!.variant), /^v3:photo\.jpg\?w=77&/);
    for (const field of ['ms', 'sourceMs', 'transformMs', 'bytesIn', 'bytesOut']) assert.equal(typeof ok![field], 'number', field);
    assert.equal(missing!.status, 404);
    assert.equal(missing!.error, 'NOT_FOUND');
    assert.doesNotMatch(logLines.join('\n'), /do-not-log-me/);
  });
});
