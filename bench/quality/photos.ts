/**
 * The photos the quality measurements use (bytes scenario, encoder settings, calibration): the
 * corpus's real photos (support/corpus/SOURCES.md), each made upright and resized without
 * enlarging to a feed width with lanczos3, kept as 8-bit sRGB pixels. That lossless resize is the
 * reference every encoding of the same request is scored against with SSIMULACRA2.
 */
import sharp, { type AvifOptions, type JpegOptions, type WebpOptions } from 'sharp';
import { readCorpus } from '../../support/corpus.js';
import { decodeRgb } from '../../transforms/quality/decode-rgb.js';
import { prepareReference, ssimulacra2Prepared, type PreparedReference, type RgbImage } from '../../transforms/quality/ssimulacra2.js';

/** Nine photos: four wallpapers/camera shots, the two EXIF-rotated ones and three colour-managed ones. */
export const QUALITY_PHOTOS = [
  'photos/evening-glow-baseline.jpg',
  'photos/colorful-cups-progressive.jpg',
  'photos/grey-pier-grayscale.jpg',
  'photos/wood-64k-exif.jpg',
  'orientation/Landscape_6.jpg',
  'orientation/Portrait_6.jpg',
  'color/cmyk-ycck-no-icc.jpg',
  'color/adobe-rgb-1998.jpg',
  'color/display-p3.jpg',
] as const;

export const QUALITY_WIDTHS = [400, 800, 1080] as const;

export type LossyFormat = 'jpeg' | 'webp' | 'avif';
export const LOSSY_FORMATS: readonly LossyFormat[] = ['webp', 'avif', 'jpeg'];

export interface ReferencePhoto {
  readonly file: string;
  readonly width: number;
  /** The source bytes as stored (what an origin or a peer is given). */
  readonly source: Buffer;
  readonly pixels: RgbImage;
  readonly prepared: PreparedReference;
}

export async function referencePhoto(file: string, width: number): Promise<ReferencePhoto> {
  const source = await readCorpus(file);
  const { data, info } = await sharp(source, { autoOrient: true })
    .resize({ width, withoutEnlargement: true, kernel: 'lanczos3' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pixels: RgbImage = { data, width: info.width, height: info.height };
  return { file, width, source, pixels, prepared: prepareReference(pixels) };
}

export type EncoderSetting =
  | { readonly format: 'jpeg'; readonly options: JpegOptions }
  | { readonly format: 'webp'; readonly options: WebpOptions }
  | { readonly format: 'avif'; readonly options: AvifOptions };

/** Encodes the reference pixels (the encoder alone, as a request's last step). */
export async function encodeReference(photo: ReferencePhoto, setting: EncoderSetting): Promise<Buffer> {
  const { data, width, height } = photo.pixels;
  return sharp(data, { raw: { width, height, channels: 3 } }).toFormat(setting.format, setting.options).toBuffer();
}

/** SSIMULACRA2 of an encoded image against the photo's reference (sizes must match). */
export async function scoreAgainst(photo: ReferencePhoto, encoded: Buffer): Promise<number> {
  return ssimulacra2Prepared(photo.prepared, await decodeRgb(encoded));
}
