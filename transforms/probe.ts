/**
 * The header probe both the pipeline and `?info` start with: sniff the format from the bytes, read
 * the header only, and refuse pixel bombs before a single pixel is decoded.
 */
import { sharp } from './sharp.js';
import { isWideGamut } from './colour-gamut.js';
import { UnprocessableImageError } from './errors.js';
import type { TransformLimits } from './limits.js';
import { sniffFormat, type InputFormat } from './sniff-format.js';

/** What is known of a source before decoding it. */
export interface SourceInfo {
  readonly format: InputFormat;
  /** Upright size (EXIF orientation applied) of the first frame. */
  readonly width: number;
  readonly height: number;
  readonly hasAlpha: boolean;
  readonly pages: number;
  /** EXIF orientation as stored (1 when absent). */
  readonly orientation: number;
  /** Whether it embeds an ICC profile (unknown when absent: then treated as if it did). */
  readonly hasProfile?: boolean;
  /** Its ICC profile describes an RGB space wider than sRGB (Display P3, Adobe RGB, …). */
  readonly wideGamut?: true;
  /** An Ultra HDR / ISO 21496-1 JPEG: it carries a gain map. */
  readonly gainMap?: true;
}

/**
 * Probes by buffer: the load layer sizes a transform by its header before the pipeline runs it,
 * and the variants of one kept original share its buffer.
 */
const probed = new WeakMap<Buffer, { readonly limits: TransformLimits; readonly info: Promise<SourceInfo> }>();

export function probeSource(input: Buffer, limits: TransformLimits): Promise<SourceInfo> {
  const known = probed.get(input);
  if (known?.limits === limits) return known.info;
  const info = readHeader(input, limits);
  probed.set(input, { limits, info });
  return info;
}

async function readHeader(input: Buffer, limits: TransformLimits): Promise<SourceInfo> {
  const format = sniffFormat(input, limits);
  const metadata = await sharp(input, { limitInputPixels: false }).metadata().catch((error: unknown) => {
    throw new UnprocessableImageError('UNREADABLE_IMAGE', 'source image header cannot be read', error);
  });
  const { width, height } = metadata.autoOrient;
  if (!(width > 0 && height > 0)) throw new UnprocessableImageError('UNREADABLE_IMAGE', 'source image has no dimensions');
  if (width * height > limits.maxInputPixels) {
    throw new UnprocessableImageError('IMAGE_TOO_LARGE', `source is ${width}x${height}, above the ${limits.maxInputPixels}-pixel limit`);
  }
  return {
    format,
    width,
    height,
    hasAlpha: metadata.hasAlpha,
    pages: metadata.pages ?? 1,
    orientation: metadata.orientation ?? 1,
    hasProfile: metadata.hasProfile === true,
    ...(isWideGamut(metadata.icc) && { wideGamut: true as const }),
    ...(metadata.gainMap !== undefined && { gainMap: true as const }),
  };
}
