/**
 * The test-image corpus, inside the repository. Small files are committed in support/corpus/,
 * copied byte for byte from the public corpus (support/corpus/SOURCES.md gives each file's origin
 * and licence). The large or pathological ones (a 9 MP JPEG, a 32:1 panorama, a 1:20 strip, a
 * 24-frame animation, the EXIF orientation set, a CMYK file with a 961 KB profile, ...) would not
 * fit in a few megabytes, so they are made here with sharp from the committed files, at test time,
 * under the corpus names the tests use; same input and same sharp version give the same bytes.
 *
 *  - `CORPUS` (support/paths.ts): the committed files only;
 *  - `readCorpus(name)`: the bytes of any corpus file, committed or generated (made once per process);
 *  - `corpusFolder(generated?)`: a temporary folder with the committed files and the generated ones
 *    named (all by default), for tests that serve the corpus (`ORIGIN_SOURCE=fs:…`) or read a
 *    generated file by path; made once per process and removed when it exits.
 */
import { existsSync, rmSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { CORPUS } from './paths.js';

export { CORPUS };

const committed = (name: string): Promise<Buffer> => readFile(path.join(CORPUS, name));

/** Decoded pixels: intermediate steps stay raw (encoding them would cost more than the step). */
interface Pixels {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

async function pixels(image: Sharp): Promise<Pixels> {
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

const fromPixels = (p: Pixels, pageHeight?: number): Sharp =>
  sharp(p.data, { raw: { width: p.width, height: p.height, channels: p.channels, ...(pageHeight && { pageHeight }) } });

/** A committed photo as sRGB pixels (CMYK and grey ones converted), through `edit` if given. */
const photo = async (name: string, edit: (image: Sharp) => Sharp = (i) => i): Promise<Pixels> =>
  pixels(edit(sharp(await committed(name)).toColourspace('srgb')));

/** One step per pass: within one pass sharp applies rotate before flip/flop, whatever the call order. */
async function chain(p: Pixels, ...steps: ((image: Sharp) => Sharp)[]): Promise<Pixels> {
  let out = p;
  for (const step of steps) out = await pixels(step(fromPixels(out)));
  return out;
}

/** Tiles of one size laid out `across` per row, as one image. */
function mosaic(tiles: readonly Pixels[], across: number): Sharp {
  const { width, height, channels } = tiles[0]!;
  const rows = Math.ceil(tiles.length / across);
  return sharp({ create: { width: width * across, height: height * rows, channels: 3, background: '#000' } }).composite(
    tiles.map((tile, i) => ({ input: tile.data, raw: { width, height, channels }, left: (i % across) * width, top: Math.floor(i / across) * height })),
  );
}

/** `count` copies of a strip, every other one mirrored (left-right across, top-bottom down). */
async function mirrorTiled(strip: Pixels, count: number, direction: 'across' | 'down'): Promise<Sharp> {
  const mirrored = await chain(strip, (i) => (direction === 'across' ? i.flop() : i.flip()));
  const tiles = Array.from({ length: count }, (_, i) => (i % 2 === 0 ? strip : mirrored));
  return mosaic(tiles, direction === 'across' ? count : 1);
}

/**
 * The stored pixels of a photo with EXIF orientation `n`: the upright picture put through the
 * inverse of what the tag tells a viewer to do, so that applying the tag gives the upright picture.
 */
function storedForOrientation(upright: Pixels, n: number): Promise<Pixels> {
  switch (n) {
    case 1: return Promise.resolve(upright);
    case 2: return chain(upright, (i) => i.flop()); // the viewer mirrors left-right
    case 3: return chain(upright, (i) => i.rotate(180));
    case 4: return chain(upright, (i) => i.flip()); // the viewer mirrors top-bottom
    case 5: return chain(upright, (i) => i.rotate(90), (i) => i.flop()); // transpose, its own inverse
    case 6: return chain(upright, (i) => i.rotate(270)); // the viewer turns it 90° clockwise
    case 7: return chain(upright, (i) => i.rotate(90), (i) => i.flip()); // transverse, its own inverse
    case 8: return chain(upright, (i) => i.rotate(90)); // the viewer turns it 90° anticlockwise
    default: throw new Error(`EXIF orientation ${n}`);
  }
}

const uprights = new Map<string, Promise<Pixels>>();

/** `orientation/<kind>_<n>.jpg`: the committed `<kind>_6.jpg` turned upright, then stored as a camera would with tag n. */
async function orientation(kind: 'Landscape' | 'Portrait', n: number): Promise<Buffer> {
  let upright = uprights.get(kind);
  if (!upright) {
    upright = committed(`orientation/${kind}_6.jpg`).then((b) => pixels(sharp(b, { autoOrient: true })));
    uprights.set(kind, upright);
  }
  const stored = await storedForOrientation(await upright, n);
  return fromPixels(stored).withMetadata({ orientation: n }).jpeg({ quality: 90 }).toBuffer();
}

/** A soft radial alpha mask: opaque in the middle, fading to transparent towards the edges. */
function radialMask(width: number, height: number): Buffer {
  const mask = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = Math.hypot((x + 0.5 - width / 2) / (width / 2), (y + 0.5 - height / 2) / (height / 2));
      mask[y * width + x] = Math.round(255 * Math.min(1, Math.max(0, (1.05 - d) / 0.45)));
    }
  }
  return mask;
}

let pan: Promise<Pixels> | undefined;

/** 24 frames of 320x200 panning left to right over EveningGlow, stacked as one 320x4800 image. */
function panFrames(): Promise<Pixels> {
  pan ??= (async () => {
    const small = await photo('photos/evening-glow-baseline.jpg', (i) => i.resize(640, 400));
    const frames = await Promise.all(
      Array.from({ length: 24 }, (_, i) => chain(small, (f) => f.extract({ left: Math.round((i * 320) / 23), top: 50, width: 320, height: 200 }))),
    );
    return { data: Buffer.concat(frames.map((f) => f.data)), width: 320, height: 200 * 24, channels: small.channels };
  })();
  return pan;
}
const PAN = { delay: 80, loop: 0 } as const;

/**
 * How each generated file is made, from committed files (or other generated ones). The case each
 * covers is the one SOURCES.md describes; sizes, formats and frame counts are the originals'.
 */
const GENERATED: Readonly<Record<string, () => Promise<Buffer>>> = {
  // A stand-in for the original (a 9.2 MP wallpaper: a bright subject in the middle of a dark,
  // finely grained background), with about its bytes and its transform cost (AVIF at 2400 and
  // 1200 px wide within 10 % here): EveningGlow at 1600x1000 in the middle of a dark navy canvas
  // with faint seeded grain, baseline JPEG q90, 1.4 MB. More than 1 MB matters:
  // server-http.test.ts caps sources at 1000000 bytes and expects this one refused.
  'photos/the-mouse-3840x2400.jpg': async () => {
    const [width, height] = [3840, 2400];
    const canvas = Buffer.alloc(width * height * 3);
    let seed = 12345;
    for (let i = 0; i < canvas.length; i += 3) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const grain = (seed >>> 24) % 9;
      [canvas[i], canvas[i + 1], canvas[i + 2]] = [8 + grain, 10 + grain, 30 + grain];
    }
    const middle = await photo('photos/evening-glow-baseline.jpg', (i) => i.resize(1600, 1000));
    const bytes = await fromPixels({ data: canvas, width, height, channels: 3 })
      .composite([{ input: middle.data, raw: { width: 1600, height: 1000, channels: middle.channels }, left: 1120, top: 700 }])
      .jpeg({ quality: 90 })
      .toBuffer();
    if (bytes.byteLength <= 1_000_000) throw new Error(`the-mouse stand-in is ${bytes.byteLength} bytes; the tests need more than 1 MB`);
    return bytes;
  },
  ...Object.fromEntries(
    (['Landscape', 'Portrait'] as const).flatMap((kind) =>
      [1, 2, 3, 4, 5, 7, 8].map((n) => [`orientation/${kind}_${n}.jpg`, () => orientation(kind, n)]),
    ),
  ),
  // FallenLeaf (the committed ImageMagick YCCK file) to sRGB, then to CMYK by libvips with its
  // built-in profile, which it embeds (961 KB).
  'color/cmyk-with-icc.jpg': async () =>
    fromPixels(await photo('color/cmyk-ycck-no-icc.jpg')).toColourspace('cmyk').withIccProfile('cmyk').jpeg({ quality: 90 }).toBuffer(),
  'png/rgba-soft-alpha.png': async () =>
    fromPixels(await photo('color/cmyk-ycck-no-icc.jpg', (i) => i.resize(640, 400)))
      .joinChannel(radialMask(640, 400), { raw: { width: 640, height: 400, channels: 1 } })
      .png()
      .toBuffer(),
  'png/rgb-16bit.png': async () =>
    sharp(await committed('photos/evening-glow-baseline.jpg')).resize(640, 400).toColourspace('rgb16').png().toBuffer(),
  'png/interlaced-adam7.png': async () =>
    sharp(await committed('photos/colorful-cups-progressive.jpg')).resize(640, 400).png({ progressive: true }).toBuffer(),
  'anim/photo-pan-24f.gif': async () => fromPixels(await panFrames(), 200).gif({ ...PAN, effort: 1 }).toBuffer(),
  'anim/photo-pan-24f.webp': async () => fromPixels(await panFrames(), 200).webp({ ...PAN, quality: 75 }).toBuffer(),
  'formats/photo-lossy.webp': async () =>
    sharp(await committed('photos/evening-glow-baseline.jpg')).resize(1600).webp({ quality: 80 }).toBuffer(),
  'formats/rgba-lossless.webp': async () => sharp(await readCorpus('png/rgba-soft-alpha.png')).webp({ lossless: true }).toBuffer(),
  'formats/photo-lzw.tiff': async () =>
    sharp(await committed('photos/colorful-cups-progressive.jpg')).resize(1024).tiff({ compression: 'lzw', predictor: 'horizontal' }).toBuffer(),
  'formats/multipage-3.tiff': async () => {
    const pages = await Promise.all(
      ['photos/evening-glow-baseline.jpg', 'photos/colorful-cups-progressive.jpg', 'color/cmyk-ycck-no-icc.jpg'].map((name) =>
        photo(name, (i) => i.resize(320, 200, { fit: 'cover' })),
      ),
    );
    const stacked = { data: Buffer.concat(pages.map((p) => p.data)), width: 320, height: 600, channels: pages[0]!.channels };
    return fromPixels(stacked, 200).tiff({ compression: 'lzw' }).toBuffer();
  },
  // EveningGlow's band from y=560, 2560x480, six times across, every other copy mirrored: 15360x480.
  'edge/panorama-15360x480.jpg': async () => {
    const strip = await photo('photos/evening-glow-baseline.jpg', (i) => i.extract({ left: 0, top: 560, width: 2560, height: 480 }));
    return (await mirrorTiled(strip, 6, 'across')).jpeg({ quality: 85, progressive: true }).toBuffer();
  },
  // A 480x1600 column of ColorfulCups, six times down, every other copy upside down: 480x9600.
  'edge/tall-480x9600.jpg': async () => {
    const strip = await photo('photos/colorful-cups-progressive.jpg', (i) => i.extract({ left: 1040, top: 0, width: 480, height: 1600 }));
    return (await mirrorTiled(strip, 6, 'down')).jpeg({ quality: 85 }).toBuffer();
  },
};

/** The corpus names that are generated rather than committed. */
export const GENERATED_NAMES: readonly string[] = Object.keys(GENERATED);

const made = new Map<string, Promise<Buffer>>();

/** The bytes of a corpus file (`photos/evening-glow-baseline.jpg`), committed or generated. */
export function readCorpus(name: string): Promise<Buffer> {
  const generate = GENERATED[name];
  if (!generate) {
    if (!existsSync(path.join(CORPUS, name))) return Promise.reject(new Error(`${name}: neither in support/corpus/ nor generated by support/corpus.ts`));
    return committed(name);
  }
  let bytes = made.get(name);
  if (!bytes) {
    bytes = generate();
    made.set(name, bytes);
  }
  return bytes;
}

let folder: Promise<string> | undefined;
const written = new Map<string, Promise<void>>();

/**
 * A temporary folder holding the committed corpus and the `generated` files (all of them unless
 * named: generating everything takes seconds), under their corpus names. One folder per process,
 * which later calls add to; it is removed when the process exits.
 */
export async function corpusFolder(generated: readonly string[] = GENERATED_NAMES): Promise<string> {
  folder ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'image-origin-corpus-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await cp(CORPUS, dir, { recursive: true });
    return dir;
  })();
  const dir = await folder;
  await Promise.all(
    generated.map((name) => {
      if (!GENERATED[name]) throw new Error(`${name} is not generated by support/corpus.ts`);
      let write = written.get(name);
      if (!write) {
        write = (async () => {
          await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
          await writeFile(path.join(dir, name), await readCorpus(name));
        })();
        written.set(name, write);
      }
      return write;
    }),
  );
  return dir;
}
