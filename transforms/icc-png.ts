/**
 * Raw pixels that are not sRGB handed to sharp with their colour profile: sharp's raw input has no
 * profile, so the pixels go in as a fast, uncompressed PNG with an `iCCP` chunk, which sharp then
 * colour-manages like any tagged source. Used for HEIC pixels (in the file's profile) and for the
 * finishing pass of a Display P3 output (pixels kept in P3).
 */
import { deflateSync } from 'node:zlib';
import type { Sharp } from 'sharp';
import { sharp } from './sharp.js';

let p3Profile: Promise<Buffer> | undefined;

/** libvips' built-in, compact Display P3 profile (~0.5 KB), read once from a 1-pixel image that carries it. */
export function builtInP3(): Promise<Buffer> {
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

/** A PNG with its `iCCP` chunk (the profile, zlib-compressed) right after `IHDR`, as the PNG spec places it. */
export function withIccChunk(png: Buffer, profile: Buffer): Buffer {
  const ihdrEnd = 8 + 8 + png.readUInt32BE(8) + 4;
  const type = Buffer.from('iCCP', 'latin1');
  const data = Buffer.concat([Buffer.from('ICC profile\0\0', 'latin1'), deflateSync(profile)]);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  type.copy(chunk, 4);
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(Buffer.concat([type, data])), 8 + data.length);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

/** `image` (pixels in `profile`) as an uncompressed PNG that carries the profile. */
export async function taggedPng(image: Sharp, profile: Buffer | undefined): Promise<Buffer> {
  const png = await image.png({ compressionLevel: 0, adaptiveFiltering: false }).toBuffer();
  return profile ? withIccChunk(png, profile) : png;
}
