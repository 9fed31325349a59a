/**
 * Animation through the operations done frame by frame: quarter turns, rounded corners, circles,
 * brightness and contrast, watermarks (image and text mixed), and their OSS spellings. The 12-frame
 * transparent sticker goes through each; every output frame is decoded and compared with the same
 * operation applied to that source frame as a still image, so each frame got the operation and the
 * frames still differ from one another.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { readOssProcess } from '../origin/request/oss/index.js';
import type { CanonicalSpec } from '../transforms/canonical.js';
import type { OriginError } from '../transforms/errors.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import { DEFAULT_TEXT_STYLE, type ImageWatermark, type TextWatermark, type Watermarks } from '../transforms/watermark.js';
import { decode, imageDistance } from './helpers/images.js';
import { readCorpus } from '../support/corpus.js';
import { SAMPLES } from '../support/paths.js';
import { specFor } from './helpers/specs.js';

const STICKER = 'anim/spinner-transparent-12f.gif';
const LOGO: ImageWatermark = { kind: 'image', key: 'logo.png', width: 0.4, gravity: 'se', margin: 0.02, opacity: 1, tile: false };
const HANDLE: TextWatermark = { ...DEFAULT_TEXT_STYLE, text: '@user', size: 0.12, gravity: 'nw' };

let sticker: Buffer;
let logo: Buffer;
let sourceFrames: Buffer[];

before(async () => {
  sticker = await readCorpus(STICKER);
  logo = await readFile(path.join(SAMPLES, 'logo.png'));
  const { pages = 1 } = await sharp(sticker).metadata();
  // libvips composes each GIF page with its predecessors (disposal applied): the frame as shown.
  sourceFrames = await Promise.all(Array.from({ length: pages }, (_, page) => sharp(sticker, { page }).png().toBuffer()));
});

/** Every frame of an animated output, decoded on its own. */
async function framesOf(bytes: Buffer): Promise<Buffer[]> {
  const { pages = 1 } = await sharp(bytes).metadata();
  return Promise.all(Array.from({ length: pages }, (_, page) => sharp(bytes, { page }).png().toBuffer()));
}

interface Case {
  readonly name: string;
  readonly query: string;
  readonly size: [number, number];
  readonly watermark?: Watermarks;
}

const CASES: readonly Case[] = [
  { name: 'rot=90', query: 'rot=90&w=64', size: [64, 64] },
  { name: 'rot=270 with a crop and flip', query: 'crop=0,10,96,60&rot=270&flip=h', size: [60, 96] },
  { name: 'round', query: 'round=24', size: [96, 96] },
  { name: 'circle', query: 'circle=30', size: [60, 60] },
  { name: 'bri and con', query: 'bri=30&con=40', size: [96, 96] },
  { name: 'an image watermark', query: 'w=96', size: [96, 96], watermark: LOGO },
  { name: 'an image and a text watermark', query: 'w=96&rot=90', size: [96, 96], watermark: [LOGO, HANDLE] },
];

const spec = (query: string, watermark?: Watermarks): CanonicalSpec => specFor(query, 'legacy', DEFAULT_LIMITS, watermark ? { watermark } : {});

describe('animated sticker through each per-frame operation', () => {
  for (const { name, query, size, watermark } of CASES) {
    for (const fm of ['gif', 'webp'] as const) {
      test(`${name} (${fm}): 12 frames, each the still operation of its source frame`, async () => {
        const out = await runPipeline(sticker, spec(`${query}&anim=1&fm=${fm}&q=100`, watermark), DEFAULT_LIMITS, { watermarkLogo: logo });
        const decoded = await decode(out.data);
        assert.deepEqual([decoded.format, decoded.pages, decoded.width, decoded.height], [fm, 12, ...size]);
        const meta = await sharp(out.data).metadata();
        assert.deepEqual(meta.delay, Array(12).fill(60), 'frame delays kept');
        assert.equal(meta.loop, 0, 'loops forever, as the source');

        const frames = await framesOf(out.data);
        for (const [i, frame] of frames.entries()) {
          const still = await runPipeline(sourceFrames[i]!, spec(`${query}&fm=png`, watermark), DEFAULT_LIMITS, { watermarkLogo: logo });
          const distance = await imageDistance(frame, still.data);
          assert.ok(distance < 6, `frame ${i}: distance ${distance.toFixed(2)} from the still result`);
        }
        const moved = await imageDistance(frames[0]!, frames[3]!);
        assert.ok(moved > 3, `frames 0 and 3 still differ (${moved.toFixed(2)})`);
      });
    }
  }

  test('the operation shows in every frame: a watermark changes each frame, a circle clears each corner', async () => {
    const plain = await framesOf((await runPipeline(sticker, spec('w=96&anim=1&fm=webp&q=100'), DEFAULT_LIMITS)).data);
    const marked = await framesOf(
      (await runPipeline(sticker, spec('w=96&anim=1&fm=webp&q=100', LOGO), DEFAULT_LIMITS, { watermarkLogo: logo })).data,
    );
    const corner = { left: 56, top: 76, width: 38, height: 18 };
    for (const [i, frame] of marked.entries()) {
      const [a, b] = await Promise.all([frame, plain[i]!].map((f) => sharp(f).extract(corner).png().toBuffer()));
      assert.ok((await imageDistance(a!, b!)) > 10, `frame ${i} carries the logo`);
    }
    const circled = await framesOf((await runPipeline(sticker, spec('circle=30&anim=1&fm=webp'), DEFAULT_LIMITS)).data);
    for (const [i, frame] of circled.entries()) {
      const { data } = await sharp(frame).ensureAlpha().extract({ left: 0, top: 0, width: 4, height: 4 }).raw().toBuffer({ resolveWithObject: true });
      for (let a = 3; a < data.length; a += 4) assert.equal(data[a], 0, `frame ${i}: the corner is transparent`);
    }
  });

  test('the OSS spellings keep the animation too: rotate, rounded-corners, circle, bright, contrast', async () => {
    for (const [process, size] of [
      ['image/rotate,90', [96, 96]],
      ['image/rounded-corners,r_20/format,gif', [96, 96]],
      ['image/circle,r_30/format,webp', [60, 60]],
      ['image/contrast,-20/bright,30/format,webp', [96, 96]],
    ] as const) {
      const read = readOssProcess(process);
      assert.equal(read.kind, 'transform');
      if (read.kind !== 'transform') return;
      const out = await runPipeline(sticker, spec(read.params.toString()), DEFAULT_LIMITS);
      const decoded = await decode(out.data);
      assert.deepEqual([decoded.pages, decoded.width, decoded.height], [12, ...size], process);
      const frames = await framesOf(out.data);
      assert.ok((await imageDistance(frames[0]!, frames[6]!)) > 3, `${process}: frames differ`);
    }
  });

  test('the frame and animated-pixel caps still apply to per-frame work', async () => {
    for (const limits of [
      { ...DEFAULT_LIMITS, maxFrames: 11 },
      { ...DEFAULT_LIMITS, maxAnimatedPixels: 96 * 96 * 11 },
    ]) {
      await assert.rejects(runPipeline(sticker, spec('rot=90&anim=1&fm=gif'), limits), (error: OriginError) => {
        assert.deepEqual([error.status, error.code], [422, 'IMAGE_TOO_LARGE']);
        return true;
      });
    }
  });
});
