/**
 * Decoding for the quality metric: any image sharp reads → interleaved 8-bit sRGB RGB, upright as
 * stored (no EXIF rotation: both sides of a comparison come from the same pipeline), alpha dropped.
 */
import { sharp } from '../sharp.js';
import type { RgbImage } from './ssimulacra2.js';

export async function decodeRgb(input: Buffer | Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(input).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
  return { data, width: info.width, height: info.height };
}
