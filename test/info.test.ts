/**
 * `?info=1`: facts about the source for the corpus (animation, alpha, orientation), the average
 * colour and a BlurHash that decodes back to the image, with the same caching rules as images.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { ImageInfo } from '../transforms/describe-image.js';
import { imageDistance } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { corpusFolder } from '../support/corpus.js';

let origin: RunningOrigin;
let CORPUS: string; // the committed and the generated corpus files
before(async () => {
  CORPUS = await corpusFolder(['anim/photo-pan-24f.gif', 'png/rgba-soft-alpha.png']);
  origin = await startOrigin({ ORIGIN_SOURCE: `fs:${CORPUS}` });
});
after(() => origin.close());

async function info(path: string): Promise<ImageInfo> {
  const r = await rawGet(origin.url, `${path}?info=1`);
  assert.equal(r.status, 200, r.body.toString());
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  return JSON.parse(r.body.toString()) as ImageInfo;
}

/** A BlurHash decoder written from the format description, to check what the origin encodes. */
function decodeBlurhash(hash: string, width: number, height: number): Buffer {
  const chars = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';
  const read = (from: number, to: number) => [...hash.slice(from, to)].reduce((v, c) => v * 83 + chars.indexOf(c), 0);
  const sizeFlag = read(0, 1);
  const nx = (sizeFlag % 9) + 1;
  const ny = Math.floor(sizeFlag / 9) + 1;
  const maximum = (read(1, 2) + 1) / 166;
  const linear = (v: number) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const srgb = (v: number) => Math.round(255 * (Math.max(0, Math.min(1, v)) <= 0.0031308 ? v * 12.92 : 1.055 * Math.max(0, Math.min(1, v)) ** (1 / 2.4) - 0.055));
  const dc = read(2, 6);
  const colours: number[][] = [[linear(dc >> 16), linear((dc >> 8) & 255), linear(dc & 255)]];
  for (let i = 1; i < nx * ny; i++) {
    const v = read(4 + i * 2, 6 + i * 2);
    const un = (q: number) => Math.sign(q - 9) * ((q - 9) / 9) ** 2 * maximum;
    colours.push([un(Math.floor(v / 361)), un(Math.floor(v / 19) % 19), un(v % 19)]);
  }
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const rgb = [0, 0, 0];
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          for (let c = 0; c < 3; c++) rgb[c]! += colours[i + j * nx]![c]! * basis;
        }
      }
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = srgb(rgb[c]!);
    }
  }
  return out;
}

describe('info', () => {
  test('animated GIF: frames and animation', async () => {
    const i = await info('/anim/photo-pan-24f.gif');
    assert.deepEqual([i.format, i.width, i.height, i.animated, i.frames], ['gif', 320, 200, true, 24]);
  });

  test('alpha and format from the bytes', async () => {
    const i = await info('/png/rgba-soft-alpha.png');
    assert.deepEqual([i.format, i.hasAlpha, i.animated, i.frames], ['png', true, false, 1]);
    const avif = await info('/formats/photo-10bit-420.avif');
    assert.deepEqual([avif.format, avif.width, avif.height], ['avif', 1600, 1000]);
  });

  test('orientation is reported, size is upright', async () => {
    const i = await info('/orientation/Landscape_6.jpg');
    assert.deepEqual([i.orientation, i.width, i.height], [6, 1800, 1200]);
    assert.equal(i.bytes, 352727);
  });

  test('average colour and BlurHash describe the picture', async () => {
    const i = await info('/photos/evening-glow-baseline.jpg');
    assert.match(i.averageColor, /^#[0-9a-f]{6}$/);
    assert.match(i.blurhash, /^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{28}$/, '4x3 components: 6 + 2 × 11 characters');
    const { data, info: thumb } = await sharp(`${CORPUS}/photos/evening-glow-baseline.jpg`).resize(32, 20, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    const mean = [0, 1, 2].map((c) => data.filter((_, k) => k % 3 === c).reduce((a, b) => a + b, 0) / (thumb.width * thumb.height));
    const reported = [1, 3, 5].map((k) => parseInt(i.averageColor.slice(k, k + 2), 16));
    reported.forEach((v, c) => assert.ok(Math.abs(v - mean[c]!) < 6, `channel ${c}: ${v} vs ${mean[c]}`));
    const placeholder = decodeBlurhash(i.blurhash, 32, 20);
    const fromHash = await sharp(placeholder, { raw: { width: 32, height: 20, channels: 3 } }).png().toBuffer();
    const blurred = await sharp(data, { raw: { width: 32, height: 20, channels: 3 } }).blur(3).png().toBuffer();
    const other = await sharp(`${CORPUS}/photos/grey-pier-grayscale.jpg`).resize(32, 20, { fit: 'fill' }).blur(3).png().toBuffer();
    const near = await imageDistance(fromHash, blurred, 16);
    assert.ok(near < 25 && near < (await imageDistance(fromHash, other, 16)) / 2, `placeholder distance ${near}`);
  });

  test('same caching headers and ETag rules as images', async () => {
    const first = await rawGet(origin.url, '/photos/wood-64k-exif.jpg?info=1');
    assert.match(String(first.headers['cache-control']), /max-age=31536000/);
    assert.match(String(first.headers.etag), /^"[A-Za-z0-9_-]{27}"$/);
    const again = await rawGet(origin.url, '/photos/wood-64k-exif.jpg?info=1', { 'if-none-match': String(first.headers.etag) });
    assert.equal(again.status, 304);
  });

  test('info does not mix with transform parameters; missing sources are 404', async () => {
    const mixed = await rawGet(origin.url, '/photos/wood-64k-exif.jpg?info=1&w=100');
    assert.equal(mixed.status, 400);
    assert.equal(jsonError(mixed).problems?.[0]?.param, 'w');
    assert.equal((await rawGet(origin.url, '/nope.jpg?info=1')).status, 404);
  });
});
