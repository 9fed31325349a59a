/**
 * HEIC/HEIF sources (iPhone photos) made into an input sharp decodes: prebuilt sharp has no HEVC
 * decoder, so libheif (WebAssembly, `decode-heic.ts`) renders the primary image, and its pixels go
 * on as a fast, uncompressed PNG carrying the file's colour profile, so that the pipeline treats
 * them like any other source (colour conversion or `keep-p3`, caps, every operation).
 *
 * Limits: the byte cap is the source fetch's; the header pixel cap is checked by the pipeline's
 * probe (sharp reads HEIF headers) and again on libheif's own parse before a pixel is decoded; the
 * decode runs under the transform timeout. Orientation: libheif applies the file's `irot`/`imir`
 * transformations, which is where HEIF keeps it (an EXIF orientation in a HEIC must be ignored,
 * ISO/IEC 23008-12), so the PNG is upright and carries no orientation.
 */
import { sharp } from '../sharp.js';
import { builtInP3, taggedPng } from '../icc-png.js';
import type { TransformLimits } from '../limits.js';
import { decodeHeic } from './decode-heic.js';
import { readHeifColour, type HeifColour } from './heif-boxes.js';

/** nclx colour primaries (ITU-T H.273) of Display P3. */
const NCLX_P3 = 12;

/**
 * The ICC profile the decoded pixels are in: the file's own, or Display P3 for nclx P3. Other
 * nclx primaries (BT.709, unspecified) are taken as sRGB; BT.2020 and HDR transfers are not
 * colour-managed (phones write P3).
 */
async function profileFor(colour: HeifColour | undefined): Promise<Buffer | undefined> {
  if (colour?.kind === 'icc') return colour.profile;
  if (colour?.kind === 'nclx' && colour.primaries === NCLX_P3) return builtInP3();
  return undefined;
}

function isOpaque(rgba: Buffer): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return false;
  return true;
}

/** The HEIC's primary image as a PNG sharp decodes: 3 channels when it is opaque, its colour profile kept. */
export async function heicToSharpInput(bytes: Buffer, limits: TransformLimits): Promise<Buffer> {
  const [pixels, profile] = await Promise.all([decodeHeic(bytes, limits), profileFor(readHeifColour(bytes))]);
  const raw = sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 4 }, limitInputPixels: false });
  return taggedPng((isOpaque(pixels.data) ? raw.removeAlpha() : raw).timeout({ seconds: limits.timeoutSeconds }), profile);
}
