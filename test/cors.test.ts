/**
 * CORS through real sockets: listed, unlisted and `*` origins on images, info JSON, 304s and
 * errors; preflight OPTIONS; `Vary: Origin` only with a list; off by default.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../origin/config.js';
import { rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { SAMPLES } from '../support/paths.js';

const APP = 'https://app.example.com';
let listed: RunningOrigin;
let anyOrigin: RunningOrigin;
let off: RunningOrigin;

before(async () => {
  const base = { ORIGIN_SOURCE: `fs:${SAMPLES}` };
  listed = await startOrigin({ ...base, ORIGIN_CORS_ORIGINS: `${APP}, https://m.example.com`, ORIGIN_CORS_MAX_AGE_SECONDS: '600' });
  anyOrigin = await startOrigin({ ...base, ORIGIN_CORS_ORIGINS: '*' });
  off = await startOrigin(base);
});
after(() => Promise.all([listed.close(), anyOrigin.close(), off.close()]));

const varyList = (value: string | undefined) => (value ?? '').split(',').map((v) => v.trim()).filter(Boolean);

describe('CORS with a list of origins', () => {
  test('a listed origin gets ACAO on images, info JSON, 304s and errors, all with Vary: Origin', async () => {
    const image = await rawGet(listed.url, '/evening-glow.jpg?w=100', { origin: APP });
    assert.equal(image.status, 200);
    assert.equal(image.headers['access-control-allow-origin'], APP);
    assert.match(String(image.headers['access-control-expose-headers']), /X-Image-Fallback/);
    assert.deepEqual(varyList(image.headers.vary), ['Accept', 'X-Image-Format-Token', 'Origin']);

    const notModified = await rawGet(listed.url, '/evening-glow.jpg?w=100', { origin: APP, 'if-none-match': String(image.headers.etag) });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers['access-control-allow-origin'], APP);
    assert.ok(varyList(notModified.headers.vary).includes('Origin'));

    const info = await rawGet(listed.url, '/evening-glow.jpg?info=1', { origin: APP });
    assert.equal(info.status, 200);
    assert.equal(info.headers['access-control-allow-origin'], APP);

    for (const path of ['/evening-glow.jpg?w=0', '/missing.jpg']) {
      const error = await rawGet(listed.url, path, { origin: APP });
      assert.ok(error.status >= 400, path);
      assert.equal(error.headers['access-control-allow-origin'], APP, path);
      assert.deepEqual(varyList(error.headers.vary), ['Origin'], path);
    }
  });

  test('an unlisted origin, or none, gets no ACAO but still Vary: Origin', async () => {
    for (const headers of [{ origin: 'https://evil.example.com' }, {}] as Record<string, string>[]) {
      const r = await rawGet(listed.url, '/evening-glow.jpg?w=100&fm=webp', headers);
      assert.equal(r.status, 200);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
      assert.deepEqual(varyList(r.headers.vary), ['Origin']);
    }
  });

  test('preflight OPTIONS answers listed origins with the methods and max-age', async () => {
    const ok = await rawGet(listed.url, '/evening-glow.jpg?w=100', { origin: APP, 'access-control-request-method': 'GET' }, 'OPTIONS');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers['access-control-allow-origin'], APP);
    assert.equal(ok.headers['access-control-allow-methods'], 'GET, HEAD');
    assert.equal(ok.headers['access-control-max-age'], '600');
    const refused = await rawGet(listed.url, '/evening-glow.jpg', { origin: 'https://evil.example.com' }, 'OPTIONS');
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    assert.equal(refused.headers['access-control-allow-methods'], undefined);
  });
});

describe('CORS with *', () => {
  test('every origin gets *, without Vary: Origin', async () => {
    const r = await rawGet(anyOrigin.url, '/evening-glow.jpg?w=100&fm=webp', { origin: 'https://anyone.example' });
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers.vary, undefined);
    const error = await rawGet(anyOrigin.url, '/evening-glow.jpg?w=0', { origin: 'https://anyone.example' });
    assert.equal(error.headers['access-control-allow-origin'], '*');
  });
});

describe('CORS off (the default)', () => {
  test('no CORS headers, and OPTIONS stays 405', async () => {
    const r = await rawGet(off.url, '/evening-glow.jpg?w=100&fm=webp', { origin: APP });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    const options = await rawGet(off.url, '/evening-glow.jpg', { origin: APP }, 'OPTIONS');
    assert.equal(options.status, 405);
  });

  test('the origin list is validated at start-up', () => {
    assert.throws(() => loadConfig({ ORIGIN_CORS_ORIGINS: 'https://app.example.com/path' }), /ORIGIN_CORS_ORIGINS/);
    assert.throws(() => loadConfig({ ORIGIN_CORS_ORIGINS: '*,https://app.example.com' }), /ORIGIN_CORS_ORIGINS/);
  });
});
