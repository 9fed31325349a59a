/**
 * Who may ask what, through the real server on loopback: `/metrics` is private by default (404 on
 * the CDN-facing port, or 401 without the bearer token when opted in), and with
 * `ORIGIN_REQUIRE_HEADER` every request but the probes needs the CDN's shared-secret header (403
 * `ORIGIN_AUTH_REQUIRED`, never cached).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decode } from './helpers/images.js';
import { jsonError, metricValue, rawGet, startOrigin, type RawResponse, type RunningOrigin } from './helpers/origin.js';
import { SAMPLES } from '../support/paths.js';
import { connectRaw, jsonBodyOf, statusOf } from './helpers/raw-connection.js';

const TOKEN = 'scrape-token-0123456789abcdef';
const OLD_SECRET = 'old-secret-0123456789abcdef';
const NEW_SECRET = 'new-secret+/=fedcba9876543210';

function assertRefused(r: RawResponse, status: number, code: string): void {
  assert.equal(r.status, status, r.body.toString());
  assert.equal(jsonError(r).code, code);
  assert.equal(r.headers['cache-control'], 'no-store', 'a refusal for a missing header is never kept by a cache');
}

describe('/metrics on the CDN-facing port', () => {
  let closed: RunningOrigin;
  let opened: RunningOrigin;
  before(async () => {
    closed = await startOrigin({ ORIGIN_SOURCE: `fs:${SAMPLES}` });
    opened = await startOrigin({ ORIGIN_SOURCE: `fs:${SAMPLES}`, ORIGIN_METRICS_ON_MAIN_PORT: 'true', ORIGIN_METRICS_TOKEN: TOKEN });
  });
  after(async () => {
    await closed.close();
    await opened.close();
  });

  test('is 404 in the JSON error shape by default, and never an image key', async () => {
    const r = await rawGet(closed.url, '/metrics', { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.body.toString()), { error: { code: 'NOT_FOUND', message: 'not found' } });
    assert.equal(closed.calls.fetch + closed.calls.stat, 0, 'the source was not asked');
  });

  test('with ORIGIN_METRICS_ON_MAIN_PORT, a missing or wrong bearer token is 401, the right one gets the metrics', async () => {
    for (const authorization of [undefined, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, TOKEN, `Basic ${TOKEN}`]) {
      const r = await rawGet(opened.url, '/metrics', authorization === undefined ? {} : { authorization });
      assertRefused(r, 401, 'METRICS_AUTH_REQUIRED');
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="metrics"');
    }
    const r = await rawGet(opened.url, '/metrics', { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 200);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(metricValue(r.body.toString(), 'image_origin_requests_total{status="401"}'), 5);
  });
});

describe('back-to-origin authentication (ORIGIN_REQUIRE_HEADER)', () => {
  let origin: RunningOrigin;
  before(async () => {
    origin = await startOrigin({ ORIGIN_SOURCE: `fs:${SAMPLES}`, ORIGIN_REQUIRE_HEADER: `X-Origin-Auth: ${OLD_SECRET}, ${NEW_SECRET}` });
  });
  after(() => origin.close());

  const protectedPaths = ['/evening-glow.jpg?w=200', '/evening-glow.jpg?info=1', '/evening-glow.jpg?x-oss-process=image/resize,w_120'];

  test('images, info and OSS URLs without the header, or with a wrong value, are 403 no-store, before the source is asked', async () => {
    for (const path of protectedPaths) {
      assertRefused(await rawGet(origin.url, path), 403, 'ORIGIN_AUTH_REQUIRED');
      for (const wrong of ['', `${OLD_SECRET}x`, NEW_SECRET.toUpperCase(), `${OLD_SECRET}, ${NEW_SECRET}`]) {
        assertRefused(await rawGet(origin.url, path, { 'x-origin-auth': wrong }), 403, 'ORIGIN_AUTH_REQUIRED');
      }
    }
    assert.equal(origin.calls.fetch + origin.calls.stat, 0);
  });

  test('either accepted value (rotation) gets the answer; the header name is case-insensitive', async () => {
    for (const [name, secret] of [['x-origin-auth', OLD_SECRET], ['X-ORIGIN-AUTH', NEW_SECRET]] as const) {
      for (const path of protectedPaths) assert.equal((await rawGet(origin.url, path, { [name]: secret })).status, 200, `${path} with ${name}`);
    }
    const image = await rawGet(origin.url, '/evening-glow.jpg?w=200', { 'x-origin-auth': NEW_SECRET, accept: 'image/webp' });
    assert.equal((await decode(image.body)).width, 200);
  });

  test('health and readiness stay open; other methods are refused before they are told the method is wrong', async () => {
    for (const path of ['/healthz', '/readyz']) {
      assert.equal((await rawGet(origin.url, path)).status, 200, path);
      assert.equal((await rawGet(origin.url, path, {}, 'HEAD')).status, 200, `HEAD ${path}`);
    }
    assertRefused(await rawGet(origin.url, '/evening-glow.jpg', {}, 'DELETE'), 403, 'ORIGIN_AUTH_REQUIRED');
    assert.equal((await rawGet(origin.url, '/evening-glow.jpg', { 'x-origin-auth': OLD_SECRET }, 'DELETE')).status, 405);
  });

  test('the header sent twice is refused, even with the right value both times', async () => {
    const client = await connectRaw(origin.url);
    client.socket.write(`GET /evening-glow.jpg?w=100 HTTP/1.1\r\nHost: o\r\nX-Origin-Auth: ${OLD_SECRET}\r\nX-Origin-Auth: ${OLD_SECRET}\r\nConnection: close\r\n\r\n`);
    const { received } = await client.ended();
    assert.equal(statusOf(received), 403);
    assert.deepEqual(jsonBodyOf(received), { error: { code: 'ORIGIN_AUTH_REQUIRED', message: 'this origin only answers its CDN' } });
  });
});
