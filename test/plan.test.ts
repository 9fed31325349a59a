/**
 * The transform plan with plain objects: canonical specs built from query strings the way the
 * server builds them, and source headers written out by hand. No pixels are touched.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { economizeSpec, type CanonicalSpec } from '../transforms/canonical.js';
import { InvalidRequestError, UnprocessableImageError } from '../transforms/errors.js';
import type { FormatToken } from '../transforms/formats.js';
import { DEFAULT_LIMITS, type TransformLimits } from '../transforms/limits.js';
import { mirrorRegion, rotateRegion, type Region } from '../transforms/geometry.js';
import type { Rotation } from '../transforms/params.js';
import { planTransform, type Rgba } from '../transforms/plan.js';
import type { SourceInfo } from '../transforms/probe.js';
import { DEFAULT_TEXT_STYLE } from '../transforms/watermark.js';
import { specFor } from './helpers/specs.js';

/** An opaque 400×300 still photo; tests change what they are about. */
const PHOTO: SourceInfo = { format: 'jpeg', width: 400, height: 300, hasAlpha: false, pages: 1, orientation: 1 };
const TRANSPARENT_PNG: SourceInfo = { ...PHOTO, format: 'png', hasAlpha: true };
const ANIMATED_GIF: SourceInfo = { ...PHOTO, format: 'gif', pages: 5 };
const ANIMATED_WEBP: SourceInfo = { ...PHOTO, format: 'webp', pages: 5 };
const SVG: SourceInfo = { format: 'svg', width: 100, height: 50, hasAlpha: true, pages: 1, orientation: 1 };

const WHITE: Rgba = { r: 255, g: 255, b: 255, alpha: 1 };
const TRANSPARENT: Rgba = { r: 0, g: 0, b: 0, alpha: 0 };

function plan(query: string | CanonicalSpec, source: SourceInfo = PHOTO, token: FormatToken = 'legacy', limits: TransformLimits = DEFAULT_LIMITS) {
  return planTransform(typeof query === 'string' ? specFor(query, token) : query, source, limits);
}

/** A negotiated spec with what a preset or the client's hints add to it. */
const negotiated = (token: FormatToken, extra: Partial<CanonicalSpec>, query = ''): CanonicalSpec => ({ ...specFor(query, token), ...extra });

const region = (left: number, top: number, width: number, height: number): Region => ({ left, top, width, height });

const TEXT_MARK = { ...DEFAULT_TEXT_STYLE, text: '© image-origin' };

function isTooLarge(error: unknown): boolean {
  return error instanceof UnprocessableImageError && error.status === 422 && error.code === 'IMAGE_TOO_LARGE';
}

function isCropOutside(error: unknown): boolean {
  return error instanceof InvalidRequestError && error.problems.length === 1 && error.problems[0]!.param === 'crop' && /outside/.test(error.message);
}

const near = (actual: number, expected: number, message?: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${message ?? ''} expected ${expected}, got ${actual}`);

describe('planTransform: negotiated formats', () => {
  const cases: [string, SourceInfo, FormatToken, string, boolean][] = [
    // query, source, token → format, animated
    ['', PHOTO, 'avif', 'avif', false],
    ['anim=1', ANIMATED_GIF, 'avif', 'webp', true],
    ['anim=1', ANIMATED_WEBP, 'avif', 'webp', true],
    ['anim=0', ANIMATED_GIF, 'avif', 'avif', false],
    ['anim=1&rot=90', ANIMATED_GIF, 'avif', 'webp', true],
    ['', TRANSPARENT_PNG, 'webp', 'webp', false],
    ['anim=1', ANIMATED_GIF, 'webp', 'webp', true],
    ['', PHOTO, 'legacy', 'jpeg', false],
    ['', TRANSPARENT_PNG, 'legacy', 'png', false],
    ['round=12', PHOTO, 'legacy', 'png', false],
    ['circle=40', PHOTO, 'legacy', 'png', false],
    ['w=100&h=100&fit=contain&bg=ffffff80', PHOTO, 'legacy', 'png', false],
    ['w=100&h=100&fit=contain&bg=ff0000', PHOTO, 'legacy', 'jpeg', false],
    ['w=100&h=100&fit=contain', PHOTO, 'legacy', 'jpeg', false],
    ['anim=1', ANIMATED_GIF, 'legacy', 'gif', true],
    ['anim=1', ANIMATED_WEBP, 'legacy', 'gif', true],
    ['anim=1&round=12', ANIMATED_GIF, 'legacy', 'gif', true],
    ['anim=1', { ...ANIMATED_GIF, pages: 1 }, 'legacy', 'jpeg', false],
  ];
  for (const [query, source, token, format, animated] of cases) {
    test(`auto-${token}, ?${query || '(nothing)'} on ${source.format}${source.pages > 1 ? ` ×${source.pages}` : ''}${source.hasAlpha ? ' with alpha' : ''} → ${format}${animated ? ', animated' : ''}`, () => {
      const { output, animated: kept } = plan(query, source, token);
      assert.equal(output.format, format);
      assert.equal(kept, animated);
    });
  }

  test('an explicit format is kept whatever the source', () => {
    assert.equal(plan('fm=png').output.format, 'png');
    assert.equal(plan('fm=jpeg', TRANSPARENT_PNG).output.format, 'jpeg');
    assert.equal(plan('fm=avif&anim=1', ANIMATED_GIF).output.format, 'avif');
  });
});

describe('planTransform: animation', () => {
  test('kept for GIF and WebP inputs with several frames, an animatable output and anim=1', () => {
    for (const source of [ANIMATED_GIF, ANIMATED_WEBP]) {
      for (const fm of ['gif', 'webp']) assert.equal(plan(`anim=1&fm=${fm}`, source).animated, true, `${source.format} → ${fm}`);
    }
  });

  test('not kept for other inputs with several pages, nor for single frames', () => {
    for (const format of ['tiff', 'avif', 'png'] as const) {
      assert.equal(plan('anim=1&fm=webp', { ...ANIMATED_GIF, format }).animated, false, format);
    }
    assert.equal(plan('anim=1&fm=webp', { ...ANIMATED_GIF, pages: 1 }).animated, false);
  });

  test('not kept without anim=1, nor for an output that cannot animate', () => {
    assert.equal(plan('fm=webp', ANIMATED_GIF).animated, false);
    for (const fm of ['jpeg', 'png', 'avif']) assert.equal(plan(`anim=1&fm=${fm}`, ANIMATED_GIF).animated, false, fm);
  });

  test('kept through quarter and half turns and mirrors (quarter turns are done frame by frame)', () => {
    for (const rot of [90, 270]) assert.equal(plan(`anim=1&fm=webp&rot=${rot}`, ANIMATED_GIF).animated, true, `rot=${rot}`);
    assert.equal(plan('anim=1&fm=webp&rot=180', ANIMATED_GIF).animated, true);
    assert.equal(plan('anim=1&fm=webp&flip=hv', ANIMATED_GIF).animated, true);
  });

  test('kept through the finishing steps (mask, levels, watermark), done frame by frame', () => {
    for (const query of ['round=8', 'circle=20', 'bri=10', 'con=-10']) {
      assert.equal(plan(`anim=1&fm=webp&${query}`, ANIMATED_GIF).animated, true, query);
    }
    assert.equal(plan(negotiated('webp', { wm: TEXT_MARK }, 'anim=1'), ANIMATED_GIF).animated, true);
  });

  describe('limits', () => {
    const limits: TransformLimits = { ...DEFAULT_LIMITS, maxFrames: 5, maxAnimatedPixels: 400 * 300 * 5 };
    const animate = (source: SourceInfo, query = 'anim=1&fm=webp') => plan(query, source, 'legacy', limits);

    test('more frames than maxFrames → IMAGE_TOO_LARGE; exactly maxFrames is fine', () => {
      assert.equal(animate(ANIMATED_GIF).animated, true);
      assert.throws(() => animate({ ...ANIMATED_GIF, pages: 6, width: 10, height: 10 }), isTooLarge);
    });

    test('frame by frame work is under the same caps', () => {
      for (const query of ['anim=1&fm=webp&rot=90', 'anim=1&fm=gif&round=4', 'anim=1&fm=webp&bri=10']) {
        assert.throws(() => animate({ ...ANIMATED_GIF, pages: 6, width: 10, height: 10 }, query), isTooLarge, query);
      }
    });

    test('more pixels in all frames than maxAnimatedPixels → IMAGE_TOO_LARGE', () => {
      assert.throws(() => animate({ ...ANIMATED_GIF, width: 401 }), isTooLarge);
      assert.throws(() => animate({ ...ANIMATED_WEBP, pages: 2, width: 1000, height: 400 }), isTooLarge);
    });

    test('not checked when the animation is not kept: the first frame alone is made', () => {
      const huge: SourceInfo = { ...ANIMATED_GIF, pages: 500, width: 2000 };
      for (const query of ['fm=webp', 'anim=1&fm=jpeg', 'anim=1&fm=png', 'anim=1&fm=avif&round=4']) {
        assert.equal(animate(huge, query).animated, false, query);
      }
    });
  });
});

describe('planTransform: crop', () => {
  test('a region inside the image is kept as asked, and is the size resize sees', () => {
    const p = plan('crop=10,20,100,50&scale=100');
    assert.deepEqual(p.crop, region(10, 20, 100, 50));
    assert.deepEqual([p.resize?.width, p.resize?.height], [100, 50]);
  });

  test('a region running past the right or bottom edge is clamped to the image', () => {
    assert.deepEqual(plan('crop=300,200,500,500').crop, region(300, 200, 100, 100));
    assert.deepEqual(plan('crop=0,0,400,300').crop, region(0, 0, 400, 300));
  });

  test('a region starting outside the image is refused with InvalidRequestError', () => {
    for (const crop of ['400,0,10,10', '0,300,10,10', '1000,1000,5,5']) {
      assert.throws(() => plan(`crop=${crop}`), isCropOutside, crop);
    }
  });

  test('with a gravity, the offsets are measured inward from that anchor', () => {
    // 100×50 on 400×300; anchored left is 0 / 150 / 300, top 0 / 125 / 250, then 10 and 20 inward.
    const topLeft: Record<string, [number, number]> = {
      nw: [10, 20], n: [160, 20], ne: [290, 20],
      w: [10, 145], c: [160, 145], e: [290, 145],
      sw: [10, 230], s: [160, 230], se: [290, 230],
    };
    for (const [gravity, [left, top]] of Object.entries(topLeft)) {
      assert.deepEqual(plan(`crop=10,20,100,50&cropg=${gravity}`).crop, region(left, top, 100, 50), gravity);
    }
  });

  test('an anchored region larger than the image is clamped to the image', () => {
    for (const gravity of ['se', 'c', 'nw']) assert.deepEqual(plan(`crop=0,0,1000,1000&cropg=${gravity}`).crop, region(0, 0, 400, 300), gravity);
  });

  test('an anchored region pushed past the far edge is clamped or refused like an unanchored one', () => {
    // sw: measured up from the bottom, right from the left: too far right runs past the right edge.
    assert.deepEqual(plan('crop=350,0,100,50&cropg=sw').crop, region(350, 250, 50, 50));
    assert.throws(() => plan('crop=400,0,100,50&cropg=sw'), isCropOutside);
  });

  describe('icrop', () => {
    test('keeps slice `index` along the axis; the last slice may be shorter', () => {
      assert.deepEqual(plan('icrop=x,150,0').crop, region(0, 0, 150, 300));
      assert.deepEqual(plan('icrop=x,150,2').crop, region(300, 0, 100, 300));
      assert.deepEqual(plan('icrop=y,100,1').crop, region(0, 100, 400, 100));
    });

    test('an index past the end keeps the whole image', () => {
      for (const icrop of ['x,150,3', 'y,100,3', 'x,400,1']) {
        const p = plan(`icrop=${icrop}&scale=50`);
        assert.equal(p.crop, undefined, icrop);
        assert.deepEqual([p.resize?.width, p.resize?.height], [200, 150], icrop);
      }
    });

    test('the slice is rotated into sharp coordinates like any crop', () => {
      assert.deepEqual(plan('icrop=x,150,0&rot=90').crop, region(0, 0, 300, 150));
    });
  });
});

describe('planTransform: rotation and mirrors', () => {
  test('flip=h mirrors left-right, flip=v top-bottom; a quarter turn swaps the axes', () => {
    const cases: [Rotation, string, boolean, boolean][] = [
      // rot, flip → mirrorLeftRight, mirrorTopBottom (applied before the rotation)
      [0, '', false, false],
      [0, 'h', true, false],
      [0, 'v', false, true],
      [180, 'h', true, false],
      [180, 'v', false, true],
      [90, 'h', false, true],
      [90, 'v', true, false],
      [270, 'h', false, true],
      [270, 'v', true, false],
      [90, 'hv', true, true],
      [0, 'hv', true, true],
    ];
    for (const [rot, flip, leftRight, topBottom] of cases) {
      const p = plan(`rot=${rot}${flip ? `&flip=${flip}` : ''}`);
      assert.deepEqual([p.rotate, p.mirrorLeftRight, p.mirrorTopBottom], [rot, leftRight, topBottom], `rot=${rot} flip=${flip}`);
    }
  });

  test('without a rotation the crop stays in upright coordinates, mirrors or not', () => {
    for (const flip of ['', '&flip=h', '&flip=v', '&flip=hv']) assert.deepEqual(plan(`crop=10,20,100,50${flip}`).crop, region(10, 20, 100, 50), flip);
  });

  test('with a rotation the crop is moved to where it lies in the rotated original', () => {
    const cases: [string, Region][] = [
      ['rot=90', region(230, 10, 50, 100)],
      ['rot=180', region(290, 230, 100, 50)],
      ['rot=270', region(20, 290, 50, 100)],
      // flip=h after a quarter turn is a top-bottom mirror before it: (10, 230) upright, then turned.
      ['rot=90&flip=h', region(20, 10, 50, 100)],
      ['rot=180&flip=hv', region(10, 20, 100, 50)],
    ];
    for (const [query, expected] of cases) assert.deepEqual(plan(`crop=10,20,100,50&${query}`).crop, expected, query);
  });

  test('resize sees the rotated size', () => {
    const p = plan('rot=90&scale=50');
    assert.deepEqual([p.resize?.width, p.resize?.height], [150, 200]);
    const cropped = plan('crop=10,20,100,50&rot=270&scale=100');
    assert.deepEqual([cropped.resize?.width, cropped.resize?.height], [50, 100]);
  });
});

describe('rotateRegion and mirrorRegion', () => {
  const size = { width: 400, height: 300 };
  const turned = { width: 300, height: 400 };
  const r = region(10, 20, 100, 50);

  test('a corner lands on the corner it turns to', () => {
    const topLeft = region(0, 0, 10, 20);
    assert.deepEqual(rotateRegion(topLeft, size, 0), topLeft);
    assert.deepEqual(rotateRegion(topLeft, size, 90), region(280, 0, 20, 10), 'top right');
    assert.deepEqual(rotateRegion(topLeft, size, 180), region(390, 280, 10, 20), 'bottom right');
    assert.deepEqual(rotateRegion(topLeft, size, 270), region(0, 390, 20, 10), 'bottom left');
  });

  test('four quarter turns, or a quarter turn and its opposite, bring a region back', () => {
    let around = r;
    for (let i = 0; i < 4; i++) around = rotateRegion(around, i % 2 === 0 ? size : turned, 90);
    assert.deepEqual(around, r);
    assert.deepEqual(rotateRegion(rotateRegion(r, size, 90), turned, 270), r);
    assert.deepEqual(rotateRegion(rotateRegion(r, size, 180), size, 180), r);
  });

  test('a half turn is both mirrors', () => {
    assert.deepEqual(rotateRegion(r, size, 180), mirrorRegion(r, size, true, true));
  });

  test('each mirror moves one coordinate; mirroring twice is the identity', () => {
    assert.deepEqual(mirrorRegion(r, size, false, false), r);
    assert.deepEqual(mirrorRegion(r, size, true, false), region(290, 20, 100, 50));
    assert.deepEqual(mirrorRegion(r, size, false, true), region(10, 230, 100, 50));
    const both = mirrorRegion(r, size, true, true);
    assert.deepEqual(both, region(290, 230, 100, 50));
    assert.deepEqual(mirrorRegion(both, size, true, true), r);
  });
});

describe('planTransform: resize', () => {
  test('nothing to resize when no size is asked and the source is within the output cap', () => {
    assert.equal(plan('').resize, undefined);
    assert.equal(plan('', { ...PHOTO, width: DEFAULT_LIMITS.maxOutputDimension, height: 10 }).resize, undefined);
  });

  test('a w×h box with its fit and position; no enlargement unless asked', () => {
    assert.deepEqual(plan('w=300&h=200&fit=cover&pos=top').resize, {
      width: 300,
      height: 200,
      fit: 'cover',
      position: 'top',
      withoutEnlargement: true,
      background: WHITE,
    });
    assert.equal(plan('w=300&h=200&enlarge=1').resize?.withoutEnlargement, false);
  });

  test('one side keeps the aspect ratio (inside, centred); DPR multiplies the box', () => {
    assert.deepEqual(plan('w=150&dpr=2').resize, { width: 300, fit: 'inside', position: 'center', withoutEnlargement: true, background: WHITE });
    assert.deepEqual(plan('h=100').resize, { height: 100, fit: 'inside', position: 'center', withoutEnlargement: true, background: WHITE });
  });

  test('padding is transparent for sources with alpha, white otherwise, or `bg`', () => {
    assert.deepEqual(plan('w=100&h=100&fit=contain', TRANSPARENT_PNG).resize?.background, TRANSPARENT);
    assert.deepEqual(plan('w=100&h=100&fit=contain').resize?.background, WHITE);
    assert.deepEqual(plan('w=100&h=100&fit=contain&bg=ff000080').resize?.background, { r: 255, g: 0, b: 0, alpha: 128 / 255 });
  });

  test('scale is a percentage of the (cropped, rotated) size, filled exactly, enlarged only with enlarge=1', () => {
    assert.deepEqual(plan('scale=50').resize, { width: 200, height: 150, fit: 'fill', position: 'center', withoutEnlargement: true, background: WHITE });
    const tiny = plan('scale=1', { ...PHOTO, width: 40, height: 30 }).resize;
    assert.deepEqual([tiny?.width, tiny?.height], [1, 1], 'at least one pixel');
    const doubled = plan('scale=200&enlarge=1').resize;
    assert.deepEqual([doubled?.width, doubled?.height, doubled?.withoutEnlargement], [800, 600, false]);
    assert.equal(plan('scale=200').resize?.withoutEnlargement, true, 'without enlarge=1 it stays at the original size');
  });

  test('scale never asks for more than the output cap', () => {
    const limits = { ...DEFAULT_LIMITS, maxOutputDimension: 300 };
    const p = plan('scale=100', PHOTO, 'legacy', limits);
    assert.ok(p.resize && p.resize.width! <= 300 && p.resize.height! <= 300, JSON.stringify(p.resize));
  });

  test('with no size asked, a source beyond the output cap is fitted inside it', () => {
    const max = DEFAULT_LIMITS.maxOutputDimension;
    const capped = { width: max, height: max, fit: 'inside', position: 'center', withoutEnlargement: true, background: WHITE };
    assert.deepEqual(plan('', { ...PHOTO, width: 10_000, height: 5_000 }).resize, capped);
    assert.deepEqual(plan('', { ...PHOTO, width: 100, height: max + 1 }).resize, capped);
    const small = { ...DEFAULT_LIMITS, maxOutputDimension: 350 };
    assert.deepEqual(plan('rot=90', PHOTO, 'legacy', small).resize, { ...capped, width: 350, height: 350 });
  });

  test('blur, sharpen and economy pass through', () => {
    const p = plan('blur=1.5&sharpen=2');
    assert.deepEqual([p.blur, p.sharpen, p.output.economy], [1.5, 2, false]);
    const cheap = plan(economizeSpec(specFor('', 'avif')));
    assert.deepEqual(cheap.output, { format: 'webp', quality: 80, target: 77, economy: true });
  });
});

describe('planTransform: flatten', () => {
  test('JPEG output of a source with alpha is flattened on white, or on `bg` made opaque', () => {
    assert.deepEqual(plan('fm=jpeg', TRANSPARENT_PNG).flatten, WHITE);
    assert.deepEqual(plan('fm=jpeg&bg=ff0000', TRANSPARENT_PNG).flatten, { r: 255, g: 0, b: 0, alpha: 1 });
    assert.deepEqual(plan('fm=jpeg&bg=00ff0080', TRANSPARENT_PNG).flatten, { r: 0, g: 255, b: 0, alpha: 1 });
  });

  test('JPEG output that gains alpha (transparent padding, a mask) is flattened too', () => {
    assert.deepEqual(plan('w=100&h=100&fit=contain&bg=ffffff80&fm=jpeg').flatten, WHITE);
    assert.deepEqual(plan('round=10&fm=jpeg').flatten, WHITE);
    assert.deepEqual(plan('circle=10&fm=jpeg&bg=000000').flatten, { r: 0, g: 0, b: 0, alpha: 1 });
  });

  test('nothing to flatten for opaque JPEG, or for outputs that hold alpha', () => {
    assert.equal(plan('fm=jpeg').flatten, undefined);
    assert.equal(plan('w=100&h=100&fit=contain&fm=jpeg').flatten, undefined);
    for (const fm of ['png', 'webp', 'avif', 'gif']) assert.equal(plan(`fm=${fm}`, TRANSPARENT_PNG).flatten, undefined, fm);
    assert.equal(plan('', TRANSPARENT_PNG).flatten, undefined, 'auto-legacy picks PNG instead');
  });
});

describe('planTransform: SVG density', () => {
  test('only vector sources get a density', () => {
    assert.equal('density' in plan('w=800&enlarge=1'), false);
    assert.equal(plan('', SVG).density, 72);
  });

  test('an enlarged vector is drawn at the density of its scale', () => {
    assert.equal(plan('w=400&enlarge=1', SVG).density, 288);
    assert.equal(plan('h=100&enlarge=1', SVG).density, 144);
    assert.equal(plan('w=400', SVG).density, 72, 'not enlarged: drawn at its own size');
    assert.equal(plan('w=50&enlarge=1', SVG).density, 72, 'shrunk: never below the base density');
  });

  test('the density stays within the input pixel limit', () => {
    const limits = { ...DEFAULT_LIMITS, maxInputPixels: 100 * 50 * 16 };
    assert.equal(plan('w=800&enlarge=1', SVG, 'legacy', limits).density, 288);
  });

  test('a cropped vector keeps the base density its crop is measured at', () => {
    assert.equal(plan('crop=0,0,50,50&w=400&enlarge=1', SVG).density, 72);
  });
});

describe('planTransform: finishing pass', () => {
  test('no finishing pass for a plain request', () => {
    assert.equal(plan('w=100&blur=2').finish, undefined);
  });

  test('masks carry their shape and radius; a watermark is passed whole', () => {
    assert.deepEqual(plan('circle=40').finish, { mask: { shape: 'circle', radius: 40 } });
    assert.deepEqual(plan('round=12').finish, { mask: { shape: 'round', radius: 12 } });
    assert.deepEqual(plan(negotiated('legacy', { wm: TEXT_MARK })).finish, { watermark: TEXT_MARK });
  });

  test('levels: brightness shifts by up to ±255, contrast scales the distance from mid-grey by 0…2', () => {
    const cases: [string, number, number][] = [
      ['bri=50', 1, 127.5],
      ['bri=-100', 1, -255],
      ['con=100', 2, -128],
      ['con=-100', 0, 128],
      ['bri=20&con=-50', 0.5, 115],
    ];
    for (const [query, multiply, add] of cases) {
      const levels = plan(query).finish?.levels;
      assert.ok(levels, query);
      near(levels.multiply, multiply, `${query} multiply`);
      near(levels.add, add, `${query} add`);
    }
    assert.equal(plan('bri=0&con=0').finish, undefined, 'zero is no change');
  });

  test('levels: contrast alone leaves mid-grey where it is; brightness moves it by 2.55 per step', () => {
    for (const contrast of [-100, -30, 0, 45, 100]) {
      for (const brightness of [-40, 0, 10]) {
        if (brightness === 0 && contrast === 0) continue;
        const levels = plan(`bri=${brightness}&con=${contrast}`).finish!.levels!;
        near(levels.multiply * 128 + levels.add, 128 + brightness * 2.55, `bri=${brightness} con=${contrast}`);
      }
    }
  });
});

describe('planTransform: quality', () => {
  test('defaults: the calibrated quality for the target (77: JPEG 78, WebP 80, AVIF 57); none for PNG and GIF', () => {
    assert.equal(plan('', PHOTO, 'legacy').output.quality, 78);
    assert.equal(plan('', PHOTO, 'webp').output.quality, 80);
    assert.equal(plan('', PHOTO, 'avif').output.quality, 57);
    assert.equal(plan('', PHOTO, 'avif').output.target, 77, 'the pipeline may ask the image instead');
    assert.equal('target' in plan('fm=avif&q=40').output, false);
    assert.equal('quality' in plan('', TRANSPARENT_PNG, 'legacy').output, false);
    assert.equal('quality' in plan('anim=1', ANIMATED_GIF, 'legacy').output, false);
    assert.equal('quality' in plan('fm=png&q=40').output, false);
  });

  test("the request's q wins, for explicit and negotiated formats", () => {
    assert.equal(plan('fm=webp&q=65').output.quality, 65);
    assert.equal(plan('q=65', PHOTO, 'avif').output.quality, 65);
    assert.equal(plan(negotiated('avif', { qt: { avif: 40 } }, 'q=90')).output.quality, 90);
  });

  test("a preset's table applies to the format the negotiation resolves to", () => {
    const qualities = { avif: 40, jpeg: 85, webp: 70 };
    assert.equal(plan(negotiated('avif', { qt: qualities })).output.quality, 40);
    assert.equal(plan(negotiated('webp', { qt: qualities })).output.quality, 70);
    assert.equal(plan(negotiated('legacy', { qt: qualities })).output.quality, 85);
    assert.equal(plan(negotiated('avif', { qt: qualities }, 'anim=1'), ANIMATED_GIF).output.quality, 70, 'animated AVIF request → WebP');
    assert.equal(plan(negotiated('avif', { qt: { jpeg: 85 } })).output.quality, 57, 'formats absent from the table meet the target');
    assert.equal('target' in plan(negotiated('avif', { qt: qualities })).output, false, 'a fixed quality is not measured');
  });

  test('Save-Data lowers the quality to 70%', () => {
    assert.equal(plan(negotiated('avif', { sd: true })).output.quality, 40);
    assert.equal(plan(negotiated('webp', { sd: true })).output.quality, 56);
    assert.equal(plan(negotiated('avif', { sd: true, qt: { avif: 40 } })).output.quality, 28);
    assert.equal(plan(negotiated('legacy', { sd: true }, 'q=90')).output.quality, 63);
  });
});

describe('planTransform: regions and caps at the edges', () => {
  test('a crop anchored south-east and pushed wholly past the left or top edge is refused', () => {
    // 100×50 whose right edge is 500 px left of the image's right edge: x from -200 to -100.
    assert.throws(() => plan('crop=500,0,100,50&cropg=se'), InvalidRequestError);
    assert.throws(() => plan('crop=0,400,100,50&cropg=se'), InvalidRequestError);
  });

  test('a crop anchored south-east running past the left edge is cut there, not shifted right', () => {
    // Asked: x from 400-350-100 = -50 to 50; only 0…50 lies in the image.
    assert.deepEqual(plan('crop=350,0,100,50&cropg=se').crop, { left: 0, top: 250, width: 50, height: 50 });
  });

  test('scale keeps the aspect ratio when the output cap shrinks it', () => {
    const limits = { ...DEFAULT_LIMITS, maxOutputDimension: 1000 };
    const resize = plan('scale=80', { ...PHOTO, width: 2000, height: 1000 }, 'legacy', limits).resize;
    assert.deepEqual([resize?.width, resize?.height, resize?.fit], [1000, 500, 'fill']);
  });

  test('a sliced vector keeps the base density its slice is measured at', () => {
    assert.equal(plan('icrop=x,50,1&w=400&enlarge=1', SVG).density, 72);
  });
});
