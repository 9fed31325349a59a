/**
 * Wide gamut and gain maps (`ORIGIN_COLOUR`). A saturated Display P3 red is checked by a
 * colour-managed reading that does not clip (`helpers/colour-managed.ts`): kept in P3 it lies
 * outside sRGB, made sRGB it lies inside. The Ultra HDR fixture is made with sharp's own gain-map
 * encoder from a corpus photo brightened in scRGB (the corpus has no gain-map JPEG).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import type { SourceKey } from '../origin/sources/source.js';
import { variantKey } from '../origin/variant-key.js';
import { readCorpus } from '../support/corpus.js';
import { colrProfile, withPrimaryProperties } from '../support/heif-properties.js';
import { isWideGamut } from '../transforms/colour-gamut.js';
import { builtInP3, taggedPng } from '../transforms/icc-png.js';
import { DEFAULT_LIMITS, type ColourMode, type TransformLimits } from '../transforms/limits.js';
import type { OutputFormat } from '../transforms/params.js';
import { runPipeline } from '../transforms/pipeline.js';
import { linearSrgbAt } from './helpers/colour-managed.js';
import { decode, imageDistance } from './helpers/images.js';
import { specFor } from './helpers/specs.js';

const limitsFor = (colour: ColourMode): TransformLimits => ({ ...DEFAULT_LIMITS, colour });
const run = (input: Buffer, query: string, colour: ColourMode = 'keep-p3') =>
  runPipeline(input, specFor(query, 'legacy', limitsFor(colour)), limitsFor(colour));

/** Outside sRGB: a linear component clearly below 0 or above 1. */
const outsideSrgb = (rgb: readonly number[]) => rgb.some((v) => v < -0.02 || v > 1.02);

let p3Red: Buffer;
let p3Profile: Buffer;

before(async () => {
  p3Profile = await builtInP3();
  // Left half the most saturated P3 red, right half mid-grey: a P3 PNG, as phones' screenshots are.
  const half = { width: 32, height: 64, channels: 3 as const };
  const grey = await sharp({ create: { ...half, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer();
  const image = sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 255, g: 0, b: 0 } } }).composite([{ input: grey, left: 32, top: 0 }]);
  p3Red = await taggedPng(sharp(await image.png().toBuffer()), p3Profile);
});

describe('ORIGIN_COLOUR=keep-p3 (the default)', () => {
  for (const fm of ['jpeg', 'webp', 'avif', 'png'] as const satisfies readonly OutputFormat[]) {
    test(`${fm}: a P3 red stays outside sRGB, with the compact P3 profile; srgb mode brings it inside, without a profile`, async () => {
      const kept = await run(p3Red, `w=32&fm=${fm}`);
      const { icc } = await sharp(kept.data).metadata();
      assert.ok(icc && isWideGamut(icc) && icc.length < 1024, 'a compact wide-gamut profile');
      assert.deepEqual(icc, p3Profile, "libvips' Display P3");
      const red = await linearSrgbAt(kept.data, 4, 8);
      assert.ok(outsideSrgb(red), `kept: linear sRGB ${red.map((v) => v.toFixed(3))}`);
      assert.ok(red[0]! > 1.1, 'redder than sRGB red');

      const clipped = await run(p3Red, `w=32&fm=${fm}`, 'srgb');
      assert.equal((await decode(clipped.data)).hasProfile, false);
      const inside = await linearSrgbAt(clipped.data, 4, 8);
      assert.ok(!outsideSrgb(inside), `srgb: ${inside.map((v) => v.toFixed(3))}`);
    });
  }

  test('the finishing pass (levels, masks) keeps P3 too', async () => {
    const out = await run(p3Red, 'w=32&fm=png&round=4&con=1');
    assert.ok(outsideSrgb(await linearSrgbAt(out.data, 4, 8)));
    assert.ok((await decode(out.data)).hasAlpha);
  });

  test('GIF carries no profile: sRGB', async () => {
    const out = await run(p3Red, 'w=32&fm=gif');
    assert.equal((await decode(out.data)).hasProfile, false);
    assert.ok(!outsideSrgb(await linearSrgbAt(out.data, 4, 8)));
  });

  test('the corpus Display P3 photo and Adobe RGB get the compact P3 profile and look as the sRGB rendering does', async () => {
    for (const name of ['color/display-p3.jpg', 'color/adobe-rgb-1998.jpg']) {
      const input = await readCorpus(name);
      const [kept, srgb] = await Promise.all([run(input, 'w=300&fm=jpeg'), run(input, 'w=300&fm=jpeg', 'srgb')]);
      assert.deepEqual((await sharp(kept.data).metadata()).icc, p3Profile, name);
      // Displayed through colour management (sharp converts both to sRGB), the same picture.
      const distance = await imageDistance(kept.data, srgb.data);
      assert.ok(distance < 2, `${name}: ${distance.toFixed(2)}`);
    }
  });

  test('sRGB and untagged sources stay untagged sRGB', async () => {
    for (const name of ['photos/colorful-cups-progressive.jpg', 'photos/evening-glow-baseline.jpg']) {
      const out = await run(await readCorpus(name), 'w=200&fm=webp');
      assert.equal((await decode(out.data)).hasProfile, false, name);
    }
  });

  test('an iPhone HEIC in Display P3 keeps P3', async () => {
    const heic = withPrimaryProperties(await readCorpus('formats/photo-hevc.heic'), [colrProfile(p3Profile)]);
    const out = await run(heic, 'w=200&fm=jpeg');
    assert.deepEqual((await sharp(out.data).metadata()).icc, p3Profile);
  });

  test('the colour mode is in the variant key: srgb adds colour=srgb, keep-p3 keeps the keys it had', () => {
    const key = (colour: ColourMode) => variantKey('a.jpg' as SourceKey, specFor('w=100&fm=webp', 'legacy', limitsFor(colour)));
    assert.equal(key('keep-p3'), 'v3:a.jpg?w=100&fit=inside&enlarge=0&rot=0&anim=0&fm=webp&tq=77');
    assert.equal(key('srgb'), 'v3:a.jpg?w=100&fit=inside&enlarge=0&rot=0&anim=0&fm=webp&tq=77&colour=srgb');
  });
});

describe('gain maps (Ultra HDR JPEG)', () => {
  let ultraHdr: Buffer;
  before(async () => {
    // sharp's withGainMap() (0.35.5; missing from its type declarations) renders in scRGB and writes an ISO 21496-1 gain map with the JPEG;
    // brightening 2.5× there gives highlights above SDR white, so the gain map is not flat.
    const photo = await readCorpus('photos/evening-glow-baseline.jpg');
    const encoder = sharp(photo).resize(800) as Sharp & { withGainMap(): Sharp };
    ultraHdr = await encoder.withGainMap().linear(2.5, 0).jpeg().toBuffer();
    const { gainMap } = await sharp(ultraHdr).metadata();
    assert.ok(gainMap?.image, 'fixture has a gain map');
    const { channels } = await sharp(gainMap.image).stats();
    assert.ok(channels[0]!.stdev > 2, 'the gain map varies');
  });

  const gainMapWidth = async (bytes: Buffer) => {
    const { gainMap } = await sharp(bytes).metadata();
    return gainMap?.image ? (await sharp(gainMap.image).metadata()).width : undefined;
  };

  test('kept and resized with the image when the output is JPEG', async () => {
    const out = await run(ultraHdr, 'w=200&fm=jpeg');
    assert.deepEqual([out.width, out.height], [200, 125]);
    assert.equal(await gainMapWidth(out.data), 100, 'half resolution, as the source');
    const cropped = await run(ultraHdr, 'crop=0,0,400,400&w=100&rot=90&fm=jpeg');
    assert.equal(await gainMapWidth(cropped.data), 50);
  });

  test('dropped cleanly: other formats, srgb mode, and operations sharp cannot apply to it', async () => {
    for (const [query, colour] of [
      ['w=200&fm=webp', 'keep-p3'],
      ['w=200&fm=avif', 'keep-p3'],
      ['w=200&fm=jpeg', 'srgb'],
      ['w=200&fm=jpeg&sat=20', 'keep-p3'],
      ['w=200&h=200&fit=cover&pos=attention&fm=jpeg', 'keep-p3'],
      ['w=200&fm=jpeg&round=10', 'keep-p3'],
    ] as const) {
      const out = await run(ultraHdr, query, colour);
      assert.equal(await gainMapWidth(out.data), undefined, `${query} (${colour})`);
      assert.ok((await decode(out.data)).width > 0);
    }
  });
});
