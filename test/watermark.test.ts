/**
 * Watermarks through the pipeline, checked by decoding: where the mark lands, its opacity,
 * tiling, logos never enlarged, and CJK text rendered with real glyphs (compared with a reference
 * rendering, perceptually). Then named watermarks and free text through the server.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { CanonicalSpec } from '../transforms/canonical.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import { DEFAULT_TEXT_STYLE, type ImageWatermark, type TextWatermark } from '../transforms/watermark.js';
import { decode, imageDistance, meanColour } from './helpers/images.js';
import { jsonError, metricValue, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { fixture, SAMPLES } from '../support/paths.js';
import { specFor } from './helpers/specs.js';
import { requireSystem } from '../support/system.js';
import { signPathAndQuery } from '../origin/signing.js';

const grey = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer();
const redLogo = (size: number) => sharp({ create: { width: size, height: size, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }).png().toBuffer();

const LOGO: ImageWatermark = { kind: 'image', key: 'logo.png', width: 0.1, gravity: 'se', margin: 0.02, opacity: 1, tile: false };
const withMark = (query: string, watermark: ImageWatermark | TextWatermark): CanonicalSpec => ({ ...specFor(query), wm: watermark });

describe('image watermarks', () => {
  test('placed by gravity with margins, scaled to a share of the output width', async () => {
    const out = await runPipeline(await grey(1000, 500), withMark('fm=png', LOGO), DEFAULT_LIMITS, { watermarkLogo: await redLogo(400) });
    // 10% of 1000 px = 100 px square, 2% margin = 20 px from the right and bottom edges.
    assert.deepEqual(await meanColour(out.data, { left: 880, top: 380, width: 100, height: 100 }), [255, 0, 0]);
    assert.deepEqual(await meanColour(out.data, { left: 860, top: 360, width: 15, height: 15 }), [128, 128, 128]);
    assert.deepEqual(await meanColour(out.data, { left: 0, top: 0, width: 100, height: 100 }), [128, 128, 128]);
  });

  test('opacity blends the mark with the image', async () => {
    const out = await runPipeline(await grey(1000, 500), withMark('fm=png', { ...LOGO, opacity: 0.5 }), DEFAULT_LIMITS, { watermarkLogo: await redLogo(400) });
    const [r, g] = await meanColour(out.data, { left: 900, top: 400, width: 60, height: 60 });
    assert.ok(r > 180 && r < 200 && g > 55 && g < 75, `${r},${g}`);
  });

  test('tiling repeats the mark over the whole output', async () => {
    const out = await runPipeline(await grey(400, 400), withMark('fm=png', { ...LOGO, width: 0.25, tile: true }), DEFAULT_LIMITS, { watermarkLogo: await redLogo(100) });
    for (const [left, top] of [[0, 0], [300, 0], [0, 300], [300, 300]]) {
      assert.deepEqual(await meanColour(out.data, { left: left! + 10, top: top! + 10, width: 80, height: 80 }), [255, 0, 0], `${left},${top}`);
    }
  });

  test('a small logo is never enlarged, so it stays crisp', async () => {
    const out = await runPipeline(await grey(1000, 500), withMark('fm=png', { ...LOGO, width: 0.5, gravity: 'nw', margin: 0 }), DEFAULT_LIMITS, { watermarkLogo: await redLogo(20) });
    assert.deepEqual(await meanColour(out.data, { left: 0, top: 0, width: 20, height: 20 }), [255, 0, 0]);
    assert.deepEqual(await meanColour(out.data, { left: 21, top: 0, width: 20, height: 20 }), [128, 128, 128]);
  });
});

describe('text watermarks', () => {
  const TEXT = '水印 ウォーターマーク 워터마크';
  const mark: TextWatermark = { ...DEFAULT_TEXT_STYLE, text: TEXT, sizePx: 40, color: '000000', shadow: false, opacity: 1, gravity: 'nw', margin: 0, offset: { x: 0, y: 0 } };

  const cjkFont = requireSystem({ file: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc', what: 'the font Noto Sans CJK SC', debianPackage: 'fonts-noto-cjk' });
  test('Chinese, Japanese and Korean render as real glyphs, not boxes', cjkFont, async () => {
    const white = await sharp({ create: { width: 800, height: 120, channels: 3, background: '#ffffff' } }).png().toBuffer();
    const out = await runPipeline(white, withMark('fm=png', mark), DEFAULT_LIMITS);
    const reference = await readFile(fixture('cjk-reference.png')); // Pango + Noto Sans CJK, black on white, 40 px
    const { width, height } = await decode(reference);
    const stamped = await sharp(out.data).extract({ left: 0, top: 0, width, height }).png().toBuffer();
    const tofu = await sharp({ text: { text: '\u25a1'.repeat([...TEXT].length), font: 'sans 40px', rgba: true, dpi: 72 } })
      .flatten({ background: '#ffffff' })
      .resize(width, height, { fit: 'fill' })
      .png()
      .toBuffer();
    const toReference = await imageDistance(stamped, reference, 96);
    const tofuToReference = await imageDistance(tofu, reference, 96);
    assert.ok(toReference < 3, `stamped text vs reference: ${toReference.toFixed(2)} (install fonts-noto-cjk: see .ci/run)`);
    assert.ok(tofuToReference > 3 * toReference, `boxes would be told apart: ${tofuToReference.toFixed(2)}`);
  });

  test('colour, shadow, rotation and tiling change the stamp', async () => {
    const base = await grey(600, 300);
    const plain = await runPipeline(base, withMark('fm=png', { ...mark, color: 'ffffff', text: 'Brand 品牌' }), DEFAULT_LIMITS);
    const shadowed = await runPipeline(base, withMark('fm=png', { ...mark, color: 'ffffff', text: 'Brand 品牌', shadow: true }), DEFAULT_LIMITS);
    const tiled = await runPipeline(base, withMark('fm=png', { ...mark, color: 'ffffff', text: 'Brand 品牌', rotate: -30, tile: true, sizePx: 20 }), DEFAULT_LIMITS);
    assert.ok((await imageDistance(plain.data, shadowed.data)) > 0.2);
    const [corner] = await meanColour(tiled.data, { left: 400, top: 200, width: 200, height: 100 });
    assert.ok(corner > 135, 'tiled text reaches the far corner');
  });
});

describe('watermarks through the server', () => {
  let origin: RunningOrigin;
  let signed: RunningOrigin;
  const KEY = 'watermark-test-key-0123456789';
  before(async () => {
    origin = await startOrigin({ ORIGIN_SOURCE: `fs:${SAMPLES}` });
    signed = await startOrigin({ ORIGIN_SOURCE: `fs:${SAMPLES}`, ORIGIN_SIGNING_KEYS: KEY });
  });
  after(async () => {
    await origin.close();
    await signed.close();
  });

  test('wm=<name> stamps a named watermark; its logo is fetched once and kept like an original', async () => {
    const plain = await rawGet(origin.url, '/evening-glow.jpg?w=600&fm=png');
    const stamped = await rawGet(origin.url, '/evening-glow.jpg?w=600&fm=png&wm=sample-logo');
    assert.equal(stamped.status, 200);
    assert.notEqual(stamped.headers.etag, plain.headers.etag);
    assert.ok((await imageDistance(plain.body, stamped.body, 96)) > 0.3);
    await rawGet(origin.url, '/evening-glow.jpg?w=500&fm=png&wm=sample-logo');
    assert.equal(metricValue(await origin.metrics(), 'image_origin_source_fetches_total{result="ok"}'), 2, 'photo + logo, each once');
  });

  test('unknown watermarks are 400; free text needs a signed URL', async () => {
    assert.equal(jsonError(await rawGet(origin.url, '/evening-glow.jpg?wm=nope')).problems?.[0]?.param, 'wm');
    const unsigned = await rawGet(origin.url, `/evening-glow.jpg?w=300&wmt=${encodeURIComponent('任何人')}`);
    assert.equal(unsigned.status, 400);
    assert.match(jsonError(unsigned).message, /signed URLs only/);
    const ok = await rawGet(signed.url, signPathAndQuery(`/evening-glow.jpg?w=300&fm=png&wmt=${encodeURIComponent('© 品牌')}`, KEY));
    assert.equal(ok.status, 200);
    assert.equal((await decode(ok.body)).width, 300);
  });
});
