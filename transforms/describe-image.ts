/**
 * What `?info=1` answers: the source's facts (size, format, bytes, orientation, alpha, frames)
 * plus what a feed paints before the image arrives: the average colour and a BlurHash. Reads the
 * header with the pipeline's own probe (same sniffing and pixel limits), then one 32-pixel thumbnail.
 */
import { sharp } from './sharp.js';
import { encodeBlurhash } from './blurhash.js';
import { UnprocessableImageError } from './errors.js';
import type { TransformLimits } from './limits.js';
import { heicToSharpInput } from './heic/heic-input.js';
import { probeSource } from './probe.js';
import type { InputFormat } from './sniff-format.js';

export interface ImageInfo {
  /** Upright size (EXIF orientation applied), of one frame. */
  readonly width: number;
  readonly height: number;
  /** Width divided by height of the upright original, to three significant digits (300×20000 → 0.015). */
  readonly aspectRatio: number;
  readonly format: InputFormat;
  readonly bytes: number;
  /** EXIF orientation as stored (1 when absent). */
  readonly orientation: number;
  readonly hasAlpha: boolean;
  readonly animated: boolean;
  readonly frames: number;
  /** `#rrggbb`, the mean of all pixels (alpha composited on white). */
  readonly averageColor: string;
  readonly blurhash: string;
}

/** Enough pixels for a 4×3-component hash; more only costs time. */
const THUMB = 32;

export async function describeImage(input: Buffer, limits: TransformLimits): Promise<ImageInfo> {
  const source = await probeSource(input, limits);
  const pixels = source.format === 'heic' ? await heicToSharpInput(input, limits) : input;
  const thumb = await sharp(pixels, { autoOrient: true, limitInputPixels: limits.maxInputPixels, failOn: 'error' })
    .timeout({ seconds: limits.timeoutSeconds })
    .resize(THUMB, THUMB, { fit: 'inside' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((error: unknown) => {
      throw new UnprocessableImageError('UNREADABLE_IMAGE', 'source image cannot be decoded', error);
    });
  const { data, info } = thumb;
  const { width, height, format, orientation, hasAlpha, pages: frames } = source;
  return {
    width,
    height,
    aspectRatio: Number((width / height).toPrecision(3)),
    format,
    bytes: input.byteLength,
    orientation,
    hasAlpha,
    animated: frames > 1 && (format === 'gif' || format === 'webp'),
    frames,
    averageColor: averageColor(data, info.channels),
    blurhash: encodeBlurhash(data, info.width, info.height, info.channels),
  };
}

function averageColor(pixels: Buffer, channels: number): string {
  const sums = [0, 0, 0];
  for (let i = 0; i < pixels.length; i += channels) for (let c = 0; c < 3; c++) sums[c]! += pixels[i + c]!;
  const count = pixels.length / channels;
  return `#${sums.map((sum) => Math.round(sum / count).toString(16).padStart(2, '0')).join('')}`;
}
