/**
 * Real social content: long screenshots (长图), the output cap on every side, formats that cannot
 * hold a long output, `maxar`, the info aspect ratio, missing watermark logos, `bg` that cannot
 * matter and the channels of finished opaque images. Images are made with sharp here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { InvalidRequestError } from '../transforms/errors.js';
import { DEFAULT_LIMITS, type TransformLimits } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import { planTransform } from '../transforms/plan.js';
import type { SourceInfo } from '../transforms/probe.js';
import { decode } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { specFor } from './helpers/specs.js';

const ACCEPT = { avif: 'image/avif,image/webp,*/*', webp: 'image/webp,*/*', legacy: 'image/jpeg,*/*' } as const;

async function photo(width: number, height: number, format: 'jpeg' | 'png' = 'jpeg', alpha = false): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: alpha ? 4 : 3, background: { r: 200, g: 90, b: 40, alpha: alpha ? 0.5 : 1 } } });
  return format === 'jpeg' ? image.jpeg().toBuffer() : image.png().toBuffer();
}

const source = (width: number, height: number, hasAlpha = false): SourceInfo => ({ width, height, hasAlpha, format: 'jpeg', pages: 1, orientation: 1 });

describe('every output side within ORIGIN_MAX_OUTPUT_DIMENSION (plan)', () => {
  const limits: TransformLimits = { ...DEFAULT_LIMITS, maxOutputDimension: 1000 };
  const planned = (query: string, info: SourceInfo) => planTransform(specFor(query, 'legacy', limits), info, limits).resize;
  const cases: [string, SourceInfo][] = [
    ['w=400', source(400, 9000)],
    ['w=300&enlarge=1', source(100, 3000)],
    ['w=500&h=500&fit=outside', source(100, 3000)],
    ['scale=100', source(400, 9000)],
    ['crop=0,0,400,5000&w=400', source(400, 9000)],
    ['rot=90&h=400', source(400, 9000)],
  ];
  for (const [query, info] of cases) {
    test(`?${query} on ${info.width}x${info.height}`, () => {
      const resize = planned(query, info);
      assert.ok(resize, 'a resize is planned');
      assert.ok((resize.width ?? Infinity) <= 1000 && (resize.height ?? Infinity) <= 1000, JSON.stringify(resize));
      assert.ok(resize.fit === 'inside' || resize.fit === 'fill', resize.fit);
    });
  }
});

describe('formats that cannot hold the output (pipeline, cap raised past WebP and AVIF)', () => {
  const limits: TransformLimits = { ...DEFAULT_LIMITS, maxOutputDimension: 20_000 };
  let long: Buffer;
  before(async () => {
    long = await photo(300, 20_000);
  });

  for (const token of ['avif', 'webp'] as const) {
    test(`negotiated ${token} gives way to JPEG, deterministically`, async () => {
      const result = await runPipeline(long, specFor('w=300', token, limits), limits);
      const d = await decode(result.data);
      assert.deepEqual([result.format, d.format, d.width, d.height], ['jpeg', 'jpeg', 300, 20_000]);
    });
  }

  test('with alpha the fallback is PNG', async () => {
    const result = await runPipeline(await photo(100, 17_000, 'png', true), specFor('', 'webp', limits), limits);
    assert.equal(result.format, 'png');
  });

  test('an explicit fm that cannot hold the size is a 400 naming the limit', () => {
    assert.throws(
      () => planTransform(specFor('fm=webp', 'legacy', limits), source(300, 20_000), limits),
      (e: unknown) => e instanceof InvalidRequestError && e.problems[0]?.param === 'fm' && /16383/.test(e.message),
    );
  });
});

describe('maxar and channels (pipeline)', () => {
  test('maxar=1:3 keeps the top of a tall image, the centre of a wide one', async () => {
    const tall = planTransform(specFor('maxar=1:3'), source(300, 20_000), DEFAULT_LIMITS);
    assert.deepEqual(tall.crop, { left: 0, top: 0, width: 300, height: 900 });
    const wide = planTransform(specFor('maxar=1:2'), source(1000, 100), DEFAULT_LIMITS);
    assert.deepEqual(wide.crop, { left: 400, top: 0, width: 200, height: 100 });
    assert.equal(planTransform(specFor('maxar=1:3'), source(300, 800), DEFAULT_LIMITS).crop, undefined);
    const rotated = planTransform(specFor('maxar=1:3&rot=90'), source(300, 20_000), DEFAULT_LIMITS);
    assert.deepEqual(rotated.crop, { left: 19_100, top: 0, width: 900, height: 300 });
  });

  test('maxar has one spelling', () => {
    assert.throws(() => specFor('maxar=3:1'), /1:3/);
    assert.throws(() => specFor('maxar=2:6'), /1:3/);
    assert.throws(() => specFor('maxar=0:3'));
  });

  test('a watermarked opaque JPEG asked as PNG keeps 3 channels; a masked one has 4', async () => {
    const input = await photo(400, 300);
    const mark = { kind: 'text' as const, text: 'hi', font: 'sans', size: 0.1, color: 'ffffff', shadow: false, rotate: 0, gravity: 'se' as const, margin: 0.02, opacity: 1, tile: false };
    const marked = await runPipeline(input, specFor('w=200&fm=png', 'legacy', DEFAULT_LIMITS, { watermark: mark }), DEFAULT_LIMITS);
    assert.equal((await decode(marked.data)).channels, 3);
    const masked = await runPipeline(input, specFor('w=200&fm=png&round=20'), DEFAULT_LIMITS);
    assert.equal((await decode(masked.data)).channels, 4);
  });
});

describe('long images through the server', () => {
  let dir: string;
  let origin: RunningOrigin;
  let operator: RunningOrigin;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'long-images-'));
    await writeFile(path.join(dir, 'longshot.jpg'), await photo(300, 20_000));
    await writeFile(path.join(dir, 'long.jpg'), await photo(400, 9000));
    await writeFile(path.join(dir, 'thin.jpg'), await photo(100, 3000));
    await writeFile(path.join(dir, 'alpha.png'), await photo(64, 64, 'png', true));
    const presets = path.join(dir, 'presets.json');
    await writeFile(presets, JSON.stringify({ presets: { marked: { params: { w: 100, wm: 'gone' } } }, watermarks: { gone: { image: 'no-such-logo.png' } } }));
    origin = await startOrigin({ ORIGIN_SOURCE: `fs:${dir}` });
    operator = await startOrigin({ ORIGIN_SOURCE: `fs:${dir}`, ORIGIN_PRESETS: presets });
  });
  after(async () => {
    await origin.close();
    await operator.close();
    await rm(dir, { recursive: true, force: true });
  });
  const get = (url: string, accept: string = ACCEPT.legacy) => rawGet(origin.url, url, { accept });

  for (const [client, accept] of Object.entries(ACCEPT)) {
    test(`/longshot.jpg?w=300 (300x20000) for a ${client} client: within the cap, its token kept`, async () => {
      const response = await get('/longshot.jpg?w=300', accept);
      assert.equal(response.status, 200, response.body.toString());
      const d = await decode(response.body);
      assert.ok(d.width <= 8192 && d.height <= 8192 && d.height === 8192, `${d.width}x${d.height}`);
      assert.equal(response.headers['content-type'], `image/${d.format}`);
      assert.equal(response.headers['x-image-format-token'], client);
    });
  }

  test('the feed preset and OSS resize show a long post within bounds', async () => {
    const feed = await decode((await get('/longshot.jpg?preset=feed', ACCEPT.avif)).body);
    assert.deepEqual([feed.width, feed.height], [300, 900]);
    const viaOss = await get('/longshot.jpg?x-oss-process=image/resize,w_300', ACCEPT.webp);
    assert.equal(viaOss.status, 200);
    const d = await decode(viaOss.body);
    assert.ok(d.height <= 8192, `${d.width}x${d.height}`);
  });

  test('400x9000 under the cap and an enlarged 100x3000 keep both sides within it', async () => {
    const long = await decode((await get('/long.jpg?w=400&fm=jpeg')).body);
    assert.ok(long.height <= 8192 && long.width <= 400, `${long.width}x${long.height}`);
    const thin = await decode((await get('/thin.jpg?w=300&enlarge=1&fm=jpeg')).body);
    assert.ok(thin.height <= 8192 && thin.width < 300, `${thin.width}x${thin.height}`);
  });

  test('info reports the aspect ratio', async () => {
    const info = JSON.parse((await get('/longshot.jpg?info=1')).body.toString()) as { aspectRatio: number };
    assert.equal(info.aspectRatio, 0.015);
  });

  test('bg that cannot matter leaves the ETag alone', async () => {
    const plain = await get('/alpha.png?fm=png');
    const red = await get('/alpha.png?fm=png&bg=ff0000');
    assert.equal(red.headers.etag, plain.headers.etag);
    const padded = await get('/alpha.png?fm=png&w=100&h=50&fit=contain&bg=ff0000');
    assert.notEqual(padded.headers.etag, plain.headers.etag);
  });

  test('a logo the URL names and cannot be found is a 400 WATERMARK_NOT_FOUND', async () => {
    const logo = Buffer.from('nope.png').toString('base64url');
    const response = await get(`/long.jpg?x-oss-process=image/resize,w_600/watermark,image_${logo}`);
    assert.equal(response.status, 400);
    assert.equal(jsonError(response).code, 'WATERMARK_NOT_FOUND');
    assert.match(jsonError(response).message, /nope\.png/);
  });

  test("a preset file's missing logo is the operator's: 502, no-store", async () => {
    const response = await rawGet(operator.url, '/long.jpg?preset=marked');
    assert.equal(response.status, 502);
    assert.equal(jsonError(response).code, 'WATERMARK_NOT_FOUND');
    assert.equal(response.headers['cache-control'], 'no-store');
  });
});
