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
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { TransformLimits } from '../limits.js';
import { decodeHeic } from './decode-heic.js';
import { readHeifColour, type HeifColour } from './heif-boxes.js';

/** nclx colour primaries (ITU-T H.273) of Display P3. */
const NCLX_P3 = 12;

let p3Profile: Promise<Buffer> | undefined;

/** libvips' built-in, compact Display P3 profile, read once from a 1-pixel image that carries it. */
function builtInP3(): Promise<Buffer> {
  p3Profile ??= sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .withIccProfile('p3')
    .png()
    .toBuffer()
    .then((png) => sharp(png).metadata())
    .then(({ icc }) => {
      if (!icc) throw new Error('sharp did not attach its p3 profile');
      return icc;
    });
  return p3Profile;
}

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

/** A PNG with its `iCCP` chunk (the profile, zlib-compressed) right after `IHDR`, as the PNG spec places it. */
function withIccChunk(png: Buffer, profile: Buffer): Buffer {
  const ihdrEnd = 8 + 8 + png.readUInt32BE(8) + 4;
  const data = Buffer.concat([Buffer.from('ICC profile\0\0', 'latin1'), deflateSync(profile)]);
  const type = Buffer.from('iCCP', 'latin1');
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  type.copy(chunk, 4);
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(Buffer.concat([type, data])), 8 + data.length);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The HEIC's primary image as a PNG sharp decodes: 3 channels when it is opaque, its colour profile kept. */
export async function heicToSharpInput(bytes: Buffer, limits: TransformLimits): Promise<Buffer> {
  const [pixels, profile] = await Promise.all([decodeHeic(bytes, limits), profileFor(readHeifColour(bytes))]);
  const raw = sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 4 }, limitInputPixels: false });
  const png = await (isOpaque(pixels.data) ? raw.removeAlpha() : raw)
    .png({ compressionLevel: 0, adaptiveFiltering: false })
    .timeout({ seconds: limits.timeoutSeconds })
    .toBuffer();
  return profile ? withIccChunk(png, profile) : png;
}
