/** Client hints and the format token, through the real server, checked by decoding. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveHints, snapUp } from '../origin/http/client-hints.js';
import { negotiateFormat } from '../origin/http/negotiate-format.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { createSpecParser } from '../transforms/parse-spec.js';
import { decode } from './helpers/images.js';
import { rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { BROWSER_ACCEPTS } from './helpers/browsers.js';
import { CORPUS } from '../support/paths.js';

const PHOTO = '/photos/evening-glow-baseline.jpg'; // 2560x1600
let origin: RunningOrigin;
before(async () => {
  origin = await startOrigin({ ORIGIN_SOURCE: `fs:${CORPUS}`, ORIGIN_DPR_STEPS: '1,1.5,2,3', ORIGIN_WIDTH_STEPS: '320,640,750,1080,1440' });
});
after(() => origin.close());

const widthOf = async (path: string, headers: Record<string, string>) => {
  const r = await rawGet(origin.url, path, headers);
  assert.equal(r.status, 200, r.body.toString().slice(0, 200));
  return { r, width: (await decode(r.body)).width };
};

describe('snapping', () => {
  test('values snap up to the next step, and cap at the last', () => {
    assert.equal(snapUp(1.3, [1, 1.5, 2, 3]), 1.5);
    assert.equal(snapUp(2, [1, 1.5, 2, 3]), 2);
    assert.equal(snapUp(3.5, [1, 1.5, 2, 3]), 3);
    assert.equal(snapUp(700, [320, 640, 750]), 750);
  });

  test('without hints, dpr=auto is 1 and w=auto falls back to the preset or 640 CSS pixels', () => {
    const parse = createSpecParser(DEFAULT_LIMITS);
    const steps = { dpr: [1, 2], widths: [320, 640, 1080] };
    const none = () => undefined;
    assert.equal(resolveHints(parse(new URLSearchParams('w=auto')), none, steps).deviceWidth, 640);
    assert.equal(resolveHints(parse(new URLSearchParams('w=auto')), none, steps, 300).deviceWidth, 320);
    assert.deepEqual(resolveHints(parse(new URLSearchParams('w=500&dpr=auto')), none, steps), { dpr: 1, vary: ['Sec-CH-DPR', 'DPR', 'Save-Data'] });
  });
});

describe('client hints through the server', () => {
  test('w=auto takes Sec-CH-Width (device pixels), snapped up', async () => {
    const { r, width } = await widthOf(`${PHOTO}?w=auto&fm=webp`, { 'sec-ch-width': '700' });
    assert.equal(width, 750);
    assert.equal(r.headers.vary, 'Sec-CH-Width, Width, Sec-CH-Viewport-Width, Viewport-Width, Save-Data');
    assert.equal(r.headers['accept-ch'], 'Sec-CH-DPR, Sec-CH-Width, Sec-CH-Viewport-Width');
  });

  test('w=auto&dpr=auto from the viewport width times the DPR hint', async () => {
    const { r, width } = await widthOf(`${PHOTO}?w=auto&dpr=auto&fm=webp`, { 'sec-ch-viewport-width': '400', 'sec-ch-dpr': '2.6' });
    assert.equal(width, 1440, '400 CSS px × DPR 3 (2.6 snapped up) = 1200 → 1440');
    assert.equal(r.headers.vary, 'Sec-CH-DPR, DPR, Sec-CH-Width, Width, Sec-CH-Viewport-Width, Viewport-Width, Save-Data');
  });

  test('dpr=auto alone multiplies w and h, and varies on the DPR hints only', async () => {
    const { r, width } = await widthOf(`${PHOTO}?w=100&h=100&fit=cover&dpr=auto`, { 'sec-ch-dpr': '1.4', accept: 'image/webp' });
    assert.equal(width, 150);
    assert.equal(r.headers.vary, 'Accept, X-Image-Format-Token, Sec-CH-DPR, DPR, Save-Data');
  });

  test('the legacy DPR header works too; fixed values send no hint in Vary', async () => {
    assert.equal((await widthOf(`${PHOTO}?w=100&dpr=auto&fm=png`, { dpr: '2' })).width, 200);
    const fixed = await rawGet(origin.url, `${PHOTO}?w=100&dpr=2&fm=png`, { 'sec-ch-dpr': '3' });
    assert.equal((await decode(fixed.body)).width, 200);
    assert.equal(fixed.headers.vary, undefined);
  });

  test('Save-Data: on lowers the quality of hinted requests (fewer bytes, another variant)', async () => {
    const normal = await rawGet(origin.url, `${PHOTO}?w=auto&fm=jpeg`, { 'sec-ch-width': '640' });
    const saving = await rawGet(origin.url, `${PHOTO}?w=auto&fm=jpeg`, { 'sec-ch-width': '640', 'save-data': 'on' });
    assert.ok(saving.body.byteLength < normal.body.byteLength * 0.9, `${saving.body.byteLength} vs ${normal.body.byteLength}`);
    assert.notEqual(saving.headers.etag, normal.headers.etag);
    assert.equal((await decode(saving.body)).width, 640);
  });
});

describe('format tokens', () => {
  for (const [browser, accept, token] of BROWSER_ACCEPTS) {
    test(`${browser} → ${token}, sent back as X-Image-Format-Token`, async () => {
      assert.equal(negotiateFormat(accept), token);
      const r = await rawGet(origin.url, `${PHOTO}?w=64`, { accept });
      assert.equal(r.headers['x-image-format-token'], token);
      assert.equal(r.headers.vary, 'Accept, X-Image-Format-Token');
    });
  }

  test('a token forwarded by the CDN wins over Accept; explicit fm sends neither token nor Vary', async () => {
    const r = await rawGet(origin.url, `${PHOTO}?w=64`, { accept: 'image/avif,image/webp', 'x-image-format-token': 'legacy' });
    assert.equal(r.headers['content-type'], 'image/jpeg');
    const bogus = await rawGet(origin.url, `${PHOTO}?w=64`, { accept: 'image/webp', 'x-image-format-token': 'gif' });
    assert.equal(bogus.headers['content-type'], 'image/webp', 'an unknown token is ignored');
    const explicit = await rawGet(origin.url, `${PHOTO}?w=64&fm=avif`, { accept: 'image/webp' });
    assert.equal(explicit.headers['x-image-format-token'], undefined);
    assert.equal(explicit.headers.vary, undefined);
  });
});
