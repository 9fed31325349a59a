/**
 * Image assertions by decoding, never by bytes: what a file is (format, size, alpha, frames,
 * orientation) and how close two images look (mean absolute difference on a small sRGB
 * thumbnail, 0 = identical, 255 = opposite).
 */
import sharp, { type Region, type Sharp } from 'sharp';

export interface Decoded {
  readonly format: string;
  readonly width: number;
  /** Height of one frame for animations. */
  readonly height: number;
  readonly pages: number;
  readonly hasAlpha: boolean;
  readonly channels: number;
  readonly space: string;
  readonly orientation: number | undefined;
  readonly hasProfile: boolean;
  readonly hasExif: boolean;
}

export async function decode(bytes: Uint8Array): Promise<Decoded> {
  const m = await sharp(bytes, { animated: true }).metadata();
  return {
    format: m.format === 'heif' ? (m.compression === 'av1' ? 'avif' : 'heif') : m.format,
    width: m.width,
    height: m.pageHeight ?? m.height,
    pages: m.pages ?? 1,
    hasAlpha: m.hasAlpha,
    channels: m.channels,
    space: m.space,
    orientation: m.orientation,
    hasProfile: m.hasProfile,
    hasExif: m.exif !== undefined,
  };
}

/** Mean absolute per-channel difference between two images scaled to the same small size. */
export async function imageDistance(a: Uint8Array | Sharp, b: Uint8Array | Sharp, size = 48): Promise<number> {
  const thumb = async (img: Uint8Array | Sharp) =>
    (img instanceof Uint8Array ? sharp(img) : img)
      .flatten({ background: '#808080' })
      .resize(size, size, { fit: 'fill' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer();
  const [x, y] = await Promise.all([thumb(a), thumb(b)]);
  let total = 0;
  for (let i = 0; i < x.length; i++) total += Math.abs(x[i]! - y[i]!);
  return total / x.length;
}

/** Average colour of an image region (after decoding), for "is the red square where it should be" checks. */
export async function meanColour(bytes: Uint8Array, region?: Region): Promise<[number, number, number]> {
  let img = sharp(bytes).removeAlpha().toColourspace('srgb');
  if (region) img = img.extract(region);
  // Rendered to raw first: sharp's stats() reads the input, ignoring the extract.
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  const sums = [0, 0, 0];
  for (let i = 0; i < data.length; i += info.channels) for (let c = 0; c < 3; c++) sums[c]! += data[i + c]!;
  const pixels = data.length / info.channels;
  return sums.map((sum) => Math.round(sum / pixels)) as [number, number, number];
}
