import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import sharp, { type Region } from 'sharp';
import { UnprocessableImageError, type OriginError } from '../transforms/errors.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import { decode, imageDistance, meanColour } from './helpers/images.js';
import { readCorpus } from '../support/corpus.js';
import { fixture } from '../support/paths.js';
import { specFor } from './helpers/specs.js';

const corpus = (name: string) => readCorpus(name);
const run = async (name: string, query: string, token: 'avif' | 'webp' | 'legacy' = 'legacy') =>
  runPipeline(await corpus(name), specFor(query, token), DEFAULT_LIMITS);

async function rejectsWith(promise: Promise<unknown>, status: number, code?: string): Promise<OriginError> {
  try {
    await promise;
  } catch (error) {
    const e = error as OriginError;
    assert.equal(e.status, status, `expected ${status}, got ${e.status}: ${e.message}`);
    if (code) assert.equal(e.code, code);
    return e;
  }
  assert.fail(`expected a ${status} rejection`);
}

describe('pipeline geometry', () => {
  // A reference made one operation per sharp pass, so each step is unambiguous.
  async function reference(input: Buffer, crop: Region, rotate: number, flip: string, w: number, h: number) {
    let bytes = await sharp(input, { autoOrient: true }).extract(crop).png().toBuffer();
    bytes = await sharp(bytes).rotate(rotate).png().toBuffer();
    if (flip.includes('h')) bytes = await sharp(bytes).flop().png().toBuffer();
    if (flip.includes('v')) bytes = await sharp(bytes).flip().png().toBuffer();
    return sharp(bytes).resize(w, h, { fit: 'cover', position: 'left top' }).png().toBuffer();
  }

  for (const rotate of [0, 90, 180, 270]) {
    for (const flip of ['', 'h', 'v', 'hv']) {
      test(`crop, rot=${rotate}, flip=${flip || 'none'} and a cover resize match one-step-at-a-time sharp`, async () => {
        const input = await corpus('orientation/Landscape_6.jpg');
        const crop = { left: 100, top: 200, width: 900, height: 500 };
        const query = `crop=100,200,900,500&w=120&h=90&fit=cover&pos=left-top&fm=png&rot=${rotate}${flip ? `&flip=${flip}` : ''}`;
        const out = await runPipeline(input, specFor(query), DEFAULT_LIMITS);
        assert.deepEqual([out.width, out.height], [120, 90]);
        const distance = await imageDistance(out.data, await reference(input, crop, rotate, flip, 120, 90));
        assert.ok(distance < 4, `distance ${distance.toFixed(2)}`);
      });
    }
  }

  test('a crop that misses the image is a 400', async () => {
    await rejectsWith(run('edge/1x1.jpg', 'crop=5,5,10,10'), 400);
  });

  test('a crop that overhangs the image is clamped to it', async () => {
    const out = await run('photos/evening-glow-baseline.jpg', 'crop=2500,1500,500,500&fm=png');
    assert.deepEqual([out.width, out.height], [60, 100]);
  });
});

describe('pipeline orientation and colour', () => {
  for (const kind of ['Landscape', 'Portrait']) {
    test(`${kind} EXIF orientations 1-8 all come out upright`, async () => {
      const upright = await run(`orientation/${kind}_1.jpg`, 'w=160&fm=png');
      for (let o = 2; o <= 8; o++) {
        const out = await run(`orientation/${kind}_${o}.jpg`, 'w=160&fm=png');
        assert.deepEqual([out.width, out.height], [upright.width, upright.height], `orientation ${o}`);
        const distance = await imageDistance(out.data, upright.data);
        assert.ok(distance < 6, `orientation ${o}: distance ${distance.toFixed(2)}`);
        assert.equal((await decode(out.data)).orientation, undefined);
      }
    });
  }

  test('CMYK JPEGs (ICC and Adobe YCCK) become 3-channel sRGB without the profile', async () => {
    const reference = await run('color/cmyk-with-icc.jpg', 'w=200&fm=png');
    for (const name of ['color/cmyk-with-icc.jpg', 'color/cmyk-ycck-no-icc.jpg']) {
      const out = await run(name, 'w=200&fm=jpeg');
      const d = await decode(out.data);
      assert.equal(d.space, 'srgb');
      assert.equal(d.channels, 3);
      assert.equal(d.hasProfile, false);
      // The two files were converted by different tools (libvips vs ImageMagick): same picture,
      // slightly different colours (16/255 apart), where an unrelated photo is 70 apart.
      assert.ok((await imageDistance(out.data, reference.data)) < 25, name);
    }
  });

  test('with ORIGIN_COLOUR=srgb, wide-gamut sources are converted to sRGB, not just stripped', async () => {
    const srgb = await run('photos/colorful-cups-progressive.jpg', 'w=200&fm=png');
    const limits = { ...DEFAULT_LIMITS, colour: 'srgb' as const };
    for (const name of ['color/adobe-rgb-1998.jpg', 'color/prophoto-rgb.jpg', 'color/display-p3.jpg']) {
      const input = await corpus(name);
      const out = await runPipeline(input, specFor('w=200&fm=png', 'legacy', limits), limits);
      assert.equal((await decode(out.data)).hasProfile, false);
      const converted = await imageDistance(out.data, srgb.data);
      const stripped = await imageDistance(sharp(input, { ignoreIcc: true }).resize(200), srgb.data);
      assert.ok(converted < stripped, `${name}: converted ${converted.toFixed(2)} vs stripped ${stripped.toFixed(2)}`);
      assert.ok(converted < 4, `${name}: ${converted.toFixed(2)}`);
    }
  });

  test('metadata (EXIF, 961 KB ICC profile) is stripped', async () => {
    for (const name of ['photos/wood-64k-exif.jpg', 'color/cmyk-with-icc.jpg']) {
      const out = await run(name, 'w=300&fm=jpeg');
      const d = await decode(out.data);
      assert.equal(d.hasExif, false);
      assert.equal(d.hasProfile, false);
      assert.ok(out.data.byteLength < 60_000);
    }
  });
});

describe('pipeline inputs', () => {
  const decodable = [
    'photos/colorful-cups-progressive.jpg', 'photos/grey-pier-grayscale.jpg', 'png/rgb-16bit.png',
    'png/palette-with-trns.png', 'png/gray-alpha.png', 'png/interlaced-adam7.png', 'formats/photo-lossy.webp',
    'formats/rgba-lossless.webp', 'formats/photo-8bit-420.avif', 'formats/photo-10bit-420.avif',
    'formats/photo-8bit-444.avif', 'formats/photo-lzw.tiff', 'formats/multipage-3.tiff', 'anim/photo-pan-24f.gif',
    'svg/icon-viewbox-only.svg', 'svg/emerald-wallpaper-1920x1080.svg', 'edge/1x1.jpg', 'edge/1x1.webp',
    'edge/1x1-transparent.png', 'edge/1x1-transparent.gif', 'edge/panorama-15360x480.jpg', 'edge/tall-480x9600.jpg',
  ];
  for (const name of decodable) {
    test(`decodes ${name} to a 64 px WebP`, async () => {
      const out = await run(name, 'w=64&h=64&fm=webp');
      const d = await decode(out.data);
      assert.equal(d.format, 'webp');
      assert.ok(d.width <= 64 && d.height <= 64 && d.width >= 1 && d.height >= 1);
    });
  }

  test('never upscales unless enlarge=1', async () => {
    const kept = await run('edge/1x1.jpg', 'w=50');
    assert.deepEqual([kept.width, kept.height], [1, 1]);
    const enlarged = await run('edge/1x1.jpg', 'w=50&enlarge=1');
    assert.deepEqual([enlarged.width, enlarged.height], [50, 50]);
  });

  test('a 32:1 panorama keeps its aspect ratio down to a few pixels', async () => {
    const out = await run('edge/panorama-15360x480.jpg', 'w=320');
    assert.deepEqual([out.width, out.height], [320, 10]);
  });

  test('16-bit PNG comes out as 8-bit', async () => {
    const out = await run('png/rgb-16bit.png', 'w=100&fm=png');
    assert.equal((await sharp(out.data).metadata()).depth, 'uchar');
  });

  test('SVG is rasterized, and drawn rather than upscaled when enlarged', async () => {
    const svg = await corpus('svg/icon-viewbox-only.svg');
    const out = await runPipeline(svg, specFor('w=600&enlarge=1&fm=png'), DEFAULT_LIMITS);
    assert.deepEqual([out.width, out.height], [600, 400]);
    const bitmap = await sharp(svg).png().toBuffer();
    const blownUp = await sharp(bitmap).resize(600).png().toBuffer();
    // Drawing at the target size keeps edges sharp: more fine detail than a 120 px bitmap blown up 5x.
    const [drawn, blown] = await Promise.all([out.data, blownUp].map((b) => sharp(b).stats()));
    assert.ok(drawn!.sharpness > blown!.sharpness * 1.5, `${drawn!.sharpness} vs ${blown!.sharpness}`);
  });

  for (const [name, label] of [['formats/photo.jxl', 'JPEG XL'], ['formats/photo-24bit.bmp', 'BMP']]) {
    test(`${label} is refused with 415`, async () => {
      await rejectsWith(run(name!, 'w=64'), 415);
    });
  }

  test('text, empty and random bytes are 415', async () => {
    for (const bytes of [Buffer.from('hello, I am not an image'), Buffer.alloc(0), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9])]) {
      await rejectsWith(runPipeline(bytes, specFor('w=10'), DEFAULT_LIMITS), 415);
    }
  });

  test('SVG that references files, URLs or entities is refused and never rendered', async () => {
    const svgs = [
      '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="http://169.254.169.254/latest" width="10" height="10"/></svg>',
      '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&x;</text></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect style="fill:url(http://example.com/a.svg#p)" width="10" height="10"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><style>@import url(x.css);</style></svg>',
    ];
    for (const svg of svgs) {
      await rejectsWith(runPipeline(Buffer.from(svg), specFor('w=10'), DEFAULT_LIMITS), 415, 'UNSAFE_SVG');
    }
  });

  test('SVG can be switched off', async () => {
    const limits = { ...DEFAULT_LIMITS, allowSvg: false };
    await rejectsWith(runPipeline(await corpus('svg/icon-viewbox-only.svg'), specFor('w=10'), limits), 415);
  });

  test('truncated and corrupt images are 422, never 5xx', async () => {
    const jpeg = await corpus('photos/evening-glow-baseline.jpg');
    const png = await corpus('png/rgba-soft-alpha.png');
    const broken = [
      jpeg.subarray(0, jpeg.length / 2),
      Buffer.concat([jpeg.subarray(0, 600), Buffer.alloc(5000, 0x55)]),
      png.subarray(0, png.length / 3),
      jpeg.subarray(0, 4),
    ];
    for (const bytes of broken) await rejectsWith(runPipeline(bytes, specFor('w=100&fm=webp'), DEFAULT_LIMITS), 422);
  });

  test('a pixel bomb is refused from its header, before any decode', async () => {
    // A real 10000x10000 (100 MP) 1-bit PNG of 12 KB, and a bare IHDR claiming 100000x100000.
    const bomb = await readFile(fixture('bomb-10000x10000.png'));
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(body));
      return Buffer.concat([length, body, crc]);
    };
    const headerOnly = Buffer.concat([
      Buffer.from('89504e470d0a1a0a', 'hex'),
      chunk('IHDR', Buffer.from('000186a0000186a00806000000', 'hex')),
      chunk('IDAT', Buffer.alloc(0)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const before = process.memoryUsage().rss;
    for (const bytes of [bomb, headerOnly]) {
      const error = await rejectsWith(runPipeline(bytes, specFor('w=100'), DEFAULT_LIMITS), 422, 'IMAGE_TOO_LARGE');
      assert.ok(error instanceof UnprocessableImageError);
    }
    // Decoding the bomb would take 100 MB at least; refusing it from the header takes nearly nothing.
    assert.ok(process.memoryUsage().rss - before < 50 * 1024 * 1024, 'memory stayed bounded');
  });
});

describe('pipeline output formats', () => {
  test('fm=auto picks AVIF, WebP or JPEG by token, and PNG for legacy clients when alpha is kept', async () => {
    assert.equal((await decode((await run('photos/evening-glow-baseline.jpg', 'w=100', 'avif')).data)).format, 'avif');
    assert.equal((await decode((await run('photos/evening-glow-baseline.jpg', 'w=100', 'webp')).data)).format, 'webp');
    assert.equal((await decode((await run('photos/evening-glow-baseline.jpg', 'w=100', 'legacy')).data)).format, 'jpeg');
    const alpha = await run('png/rgba-soft-alpha.png', 'w=100', 'legacy');
    assert.equal(alpha.format, 'png');
    assert.equal((await decode(alpha.data)).hasAlpha, true);
  });

  test('alpha flattened into JPEG over bg (default white)', async () => {
    const white = await run('edge/1x1-transparent.png', 'fm=jpeg');
    assert.deepEqual(await meanColour(white.data), [255, 255, 255]);
    const red = await run('edge/1x1-transparent.png', 'fm=jpeg&bg=f00');
    const [r, g, b] = await meanColour(red.data);
    assert.ok(r > 240 && g < 20 && b < 20, `${r},${g},${b}`);
  });

  test('contain pads with bg, transparent by default only for sources with alpha', async () => {
    const opaque = await run('photos/evening-glow-baseline.jpg', 'w=100&h=100&fit=contain&fm=png');
    assert.equal((await decode(opaque.data)).hasAlpha, false);
    const padded = await run('photos/evening-glow-baseline.jpg', 'w=100&h=100&fit=contain&bg=00ff00&fm=png');
    const [r, g, b] = await meanColour(padded.data, { left: 0, top: 0, width: 100, height: 10 });
    assert.ok(g > 240 && r < 20 && b < 20);
  });

  test('animated GIF and WebP keep their frames with anim=1, give frame one otherwise', async () => {
    for (const name of ['anim/photo-pan-24f.gif', 'anim/photo-pan-24f.webp', 'anim/spinner-transparent-12f.gif']) {
      const source = await decode(await corpus(name));
      const kept = await run(name, 'w=80&anim=1&fm=gif');
      const keptDecoded = await decode(kept.data);
      assert.equal(keptDecoded.pages, source.pages, name);
      assert.equal(keptDecoded.width, 80);
      const still = await run(name, 'w=80&fm=gif');
      assert.equal((await decode(still.data)).pages, 1, name);
    }
  });

  test('anim=1 with fm=auto keeps animation: WebP for AVIF clients, GIF for legacy ones', async () => {
    const avifClient = await run('anim/photo-pan-24f.gif', 'w=80&anim=1', 'avif');
    assert.deepEqual([avifClient.format, avifClient.pages], ['webp', 24]);
    const legacy = await run('anim/photo-pan-24f.webp', 'w=80&anim=1', 'legacy');
    assert.deepEqual([legacy.format, legacy.pages], ['gif', 24]);
  });

  test('animation beyond the frame cap is refused when kept', async () => {
    const limits = { ...DEFAULT_LIMITS, maxFrames: 10 };
    const input = await corpus('anim/photo-pan-24f.gif');
    await rejectsWith(runPipeline(input, specFor('w=80&anim=1&fm=gif'), limits), 422, 'IMAGE_TOO_LARGE');
    const still = await runPipeline(input, specFor('w=80&fm=gif'), limits);
    assert.equal(still.pages, 1);
  });

  test('quality changes the bytes, not the size', async () => {
    const low = await run('photos/evening-glow-baseline.jpg', 'w=400&fm=jpeg&q=30');
    const high = await run('photos/evening-glow-baseline.jpg', 'w=400&fm=jpeg&q=95');
    assert.ok(low.data.byteLength * 2 < high.data.byteLength);
    assert.ok((await imageDistance(low.data, high.data)) < 6);
  });

  test('blur and sharpen change the image', async () => {
    const plain = await run('photos/evening-glow-baseline.jpg', 'w=200&fm=png');
    const blurred = await run('photos/evening-glow-baseline.jpg', 'w=200&fm=png&blur=8');
    const sharpened = await run('photos/evening-glow-baseline.jpg', 'w=200&fm=png&sharpen=2');
    const [p, b, s] = await Promise.all([plain, blurred, sharpened].map((o) => sharp(o.data).stats()));
    assert.ok(b!.sharpness < p!.sharpness / 2);
    assert.ok(s!.sharpness > p!.sharpness);
  });

  test('sat: -100 is greyscale, +100 more saturated, 0 the same variant as none; animation survives', async () => {
    // Mean distance of R, G and B from their average: 0 for grey.
    const spread = async (bytes: Buffer) => {
      const { data } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      let total = 0;
      for (let i = 0; i < data.length; i += 3) {
        const mean = (data[i]! + data[i + 1]! + data[i + 2]!) / 3;
        total += Math.abs(data[i]! - mean) + Math.abs(data[i + 1]! - mean) + Math.abs(data[i + 2]! - mean);
      }
      return total / (data.length / 3);
    };
    const [plain, grey, vivid] = await Promise.all(['', '&sat=-100', '&sat=100'].map((sat) => run('photos/colorful-cups-progressive.jpg', `w=200&fm=png${sat}`)));
    assert.ok((await spread(grey!.data)) < 1, 'greyscale');
    assert.ok((await spread(vivid!.data)) > (await spread(plain!.data)) * 1.3, 'more saturated');
    assert.deepEqual(specFor('w=200&sat=0'), specFor('w=200'));
    assert.throws(() => specFor('sat=101'), /sat: must be at most 100/);
    const sticker = await run('anim/photo-pan-24f.gif', 'w=100&anim=1&fm=webp&sat=-100');
    assert.equal((await decode(sticker.data)).pages, 24);
  });

  test('output above the byte cap is 422', async () => {
    const limits = { ...DEFAULT_LIMITS, maxOutputBytes: 1000 };
    await rejectsWith(runPipeline(await corpus('photos/evening-glow-baseline.jpg'), specFor('w=400&fm=png'), limits), 422, 'OUTPUT_TOO_LARGE');
  });
});

function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

