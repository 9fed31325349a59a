/**
 * The benchmark's image set, built in memory from the test-image corpus (support/corpus.ts: the
 * files in support/corpus/, see its SOURCES.md, and those generated from them) with sharp:
 * feed-sized photos of about 0.5, 2 and 12 megapixels and a PNG with alpha. The `tiny` set (for the plumbing test) has the same kinds at a fraction of the pixels.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { readCorpus } from '../support/corpus.js';
import { fixture } from '../support/paths.js';
import { seededRandom, weightedPick } from './workload.js';

export type ImageKind = 'photo-0.5mp' | 'photo-2mp' | 'photo-12mp' | 'alpha-png';

export interface BenchImage {
  readonly kind: ImageKind;
  /** File name inside the bucket's folders, e.g. `photo-2mp.jpg`. */
  readonly name: string;
  readonly bytes: Buffer;
  /** Upright size in pixels. */
  readonly width: number;
  readonly height: number;
  readonly description: string;
}

const corpus = (file: string) => readCorpus(file);

async function describe(kind: ImageKind, name: string, bytes: Buffer, description: string): Promise<BenchImage> {
  const { autoOrient } = await sharp(bytes).metadata();
  return { kind, name, bytes, width: autoOrient.width, height: autoOrient.height, description };
}

/** Re-encoded like a phone app uploads: baseline JPEG, quality 85. */
const upload = (image: Sharp) => image.jpeg({ quality: 85 }).toBuffer();

async function mosaic12mp(): Promise<Buffer> {
  // Four real photos downscaled into 2000x1500 tiles keep a photo's detail per pixel; one photo
  // upscaled to 12 MP would be unrealistically smooth and cheap to encode.
  const files = [
    'photos/evening-glow-baseline.jpg',
    'photos/wood-64k-exif.jpg',
    'photos/colorful-cups-progressive.jpg',
    'photos/the-mouse-3840x2400.jpg',
  ];
  const tiles = await Promise.all(
    files.map(async (file) => sharp(await corpus(file), { autoOrient: true }).resize(2000, 1500, { fit: 'cover' }).toBuffer()),
  );
  const composite = tiles.map((input, i) => ({ input, left: (i % 2) * 2000, top: Math.floor(i / 2) * 1500 }));
  return sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#000' } })
    .composite(composite)
    .jpeg({ quality: 90 })
    .toBuffer();
}

export async function buildImageSet(size: 'full' | 'tiny'): Promise<BenchImage[]> {
  const cups = await corpus('photos/colorful-cups-progressive.jpg');
  const landscape6 = await corpus('orientation/Landscape_6.jpg');
  const alpha = await corpus('png/rgba-soft-alpha.png');
  if (size === 'tiny') {
    return Promise.all([
      describe('photo-0.5mp', 'photo-0.5mp.jpg', await upload(sharp(cups).resize(320, 200)), 'tiny: colorful-cups at 320x200'),
      describe(
        'photo-2mp',
        'photo-2mp.jpg',
        // Stored pixels resized as they are, EXIF orientation 6 kept: the auto-orient path still runs.
        await sharp(landscape6).resize(300, 200).withMetadata({ orientation: 6 }).jpeg({ quality: 85 }).toBuffer(),
        'tiny: Landscape_6 at 300x200, EXIF orientation 6',
      ),
      describe(
        'photo-12mp',
        'photo-12mp.jpg',
        await upload(sharp(await corpus('photos/the-mouse-3840x2400.jpg')).resize(400, 250)),
        'tiny: the-mouse at 400x250',
      ),
      describe('alpha-png', 'alpha.png', await sharp(alpha).resize(160, 100).png().toBuffer(), 'tiny: rgba-soft-alpha at 160x100'),
    ]);
  }
  return Promise.all([
    describe('photo-0.5mp', 'photo-0.5mp.jpg', await upload(sharp(cups).resize(900, 563)), 'colorful-cups downscaled to 900x563, JPEG q85'),
    describe('photo-2mp', 'photo-2mp.jpg', landscape6, 'orientation/Landscape_6.jpg as is: 1800x1200 stored, EXIF orientation 6'),
    describe('photo-12mp', 'photo-12mp.jpg', await mosaic12mp(), '2x2 mosaic of four corpus photos, 4000x3000, JPEG q90'),
    describe('alpha-png', 'alpha.png', alpha, 'png/rgba-soft-alpha.png as is: 640x400 RGBA'),
  ]);
}

/** Files no origin can make an image of, for `soak`: stored under `bad/`. */
export type BadFileKind = 'truncated-jpeg' | 'random-bytes' | 'html-page' | 'pixel-bomb';

export interface BadFile {
  readonly kind: BadFileKind;
  readonly key: string;
  readonly bytes: Buffer;
  readonly description: string;
}

/** The same in every mode: they are small, and a bad file is cheap to refuse whatever its size. */
export async function buildBadFiles(seed = 4): Promise<BadFile[]> {
  const photo = await corpus('orientation/Landscape_6.jpg');
  const random = seededRandom(seed);
  const noise = Buffer.from(Array.from({ length: 16 * 1024 }, () => Math.floor(random() * 256)));
  const page = Buffer.from(
    '<!doctype html>\n<html><head><title>404 Not Found</title></head>\n<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n',
  );
  return [
    { kind: 'truncated-jpeg', key: 'bad/truncated.jpg', bytes: photo.subarray(0, photo.byteLength >> 1), description: 'orientation/Landscape_6.jpg cut in half' },
    { kind: 'random-bytes', key: 'bad/random-bytes.jpg', bytes: noise, description: '16 KiB of seeded random bytes named .jpg' },
    { kind: 'html-page', key: 'bad/page.jpg', bytes: page, description: 'an HTML error page named .jpg' },
    {
      kind: 'pixel-bomb',
      key: 'bad/bomb-10000x10000.png',
      bytes: await readFile(fixture('bomb-10000x10000.png')),
      description: 'test/fixtures/bomb-10000x10000.png: 100 MP declared, a few KB compressed',
    },
  ];
}

/** How often each kind appears among the social keys: mostly feed photos, a few large ones. */
const SOCIAL_MIX: Readonly<Record<ImageKind, number>> = { 'photo-0.5mp': 0.4, 'photo-2mp': 0.4, 'photo-12mp': 0.1, 'alpha-png': 0.1 };

export interface BucketLayout {
  /** Every object to store, by key. */
  readonly objects: ReadonlyMap<string, Buffer>;
  /** One key per image, for the `limit`, `cold`, `overload` and `hot` scenarios. */
  readonly baseKeys: readonly string[];
  /** The base image behind each base key. */
  readonly imageOf: ReadonlyMap<string, BenchImage>;
  /** `count` distinct keys for `social`, in popularity-rank order (rank 0 is the most popular). */
  readonly socialKeys: readonly string[];
  /** The undecodable files for `soak`. */
  readonly badFiles: readonly Omit<BadFile, 'bytes'>[];
}

/**
 * Base images under `base/`, and `socialCount` keys under `social/`, each a copy of one base image
 * (the origin treats every key as its own original: its own fetch, cache entry and variants), and
 * the bad files under `bad/`.
 */
export function layoutBucket(images: readonly BenchImage[], socialCount: number, badFiles: readonly BadFile[] = [], seed = 3): BucketLayout {
  const objects = new Map<string, Buffer>();
  for (const file of badFiles) objects.set(file.key, file.bytes);
  const imageOf = new Map<string, BenchImage>();
  const byKind = new Map(images.map((image) => [image.kind, image]));
  const baseKeys = images.map((image) => {
    const key = `base/${image.name}`;
    objects.set(key, image.bytes);
    imageOf.set(key, image);
    return key;
  });
  const random = seededRandom(seed);
  const socialKeys: string[] = [];
  for (let i = 0; i < socialCount; i++) {
    const image = byKind.get(weightedPick(SOCIAL_MIX, random)) ?? (images[0] as BenchImage);
    const key = `social/${String(i).padStart(5, '0')}-${image.name}`;
    objects.set(key, image.bytes);
    imageOf.set(key, image);
    socialKeys.push(key);
  }
  return { objects, baseKeys, imageOf, socialKeys, badFiles: badFiles.map(({ kind, key, description }) => ({ kind, key, description })) };
}
