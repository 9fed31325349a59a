/**
 * A colour-managed reading of one pixel that does not clip: sharp's own decoders convert to 8-bit
 * sRGB (or 16-bit P3) and so cannot show a colour outside sRGB. Here the pixel's stored values go
 * through the image's ICC profile (its tone curves and colorants, matrix profiles only) to XYZ,
 * then into linear sRGB without clamping: a component below 0 or above 1 lies outside sRGB.
 * Without a profile the values are sRGB.
 */
import sharp from 'sharp';
import { readColorants } from '../../transforms/colour-gamut.js';

type Vec = [number, number, number];
type Mat = [Vec, Vec, Vec];

/** sRGB's colorants adapted to D50 (columns: red, green, blue), as in every sRGB ICC profile. */
const SRGB_D50: Mat = [
  [0.4361, 0.3851, 0.1431],
  [0.2225, 0.7169, 0.0606],
  [0.0139, 0.0971, 0.7141],
];

const srgbToLinear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);

function invert(m: Mat): Mat {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}

const apply = (m: Mat, v: Vec): Vec => m.map((row) => row[0] * v[0] + row[1] * v[1] + row[2] * v[2]) as Vec;

/** The red tone curve (`rTRC`: `curv` or `para`) as a function of 0…1. */
function toneCurve(icc: Buffer): (v: number) => number {
  const count = icc.readUInt32BE(128);
  for (let i = 0; i < count; i++) {
    const at = 132 + i * 12;
    if (icc.toString('latin1', at, at + 4) !== 'rTRC') continue;
    const offset = icc.readUInt32BE(at + 4);
    const type = icc.toString('latin1', offset, offset + 4);
    if (type === 'curv') {
      const n = icc.readUInt32BE(offset + 8);
      if (n === 0) return (v) => v;
      if (n === 1) return (v) => v ** (icc.readUInt16BE(offset + 12) / 256);
      const table = Array.from({ length: n }, (_, k) => icc.readUInt16BE(offset + 12 + 2 * k) / 65535);
      return (v) => table[Math.round(v * (n - 1))]!;
    }
    if (type === 'para') {
      const fn = icc.readUInt16BE(offset + 8);
      const params = [1, 3, 4, 5, 7][fn] ?? 0;
      const p = Array.from({ length: params }, (_, k) => icc.readInt32BE(offset + 12 + 4 * k) / 65536);
      const [g, a = 1, b = 0, c = 0, d = 0, e = 0, f = 0] = p as [number, ...number[]];
      if (fn === 0) return (v) => v ** g;
      if (fn === 3) return (v) => (v >= d ? (a * v + b) ** g : c * v);
      if (fn === 4) return (v) => (v >= d ? (a * v + b) ** g + e : c * v + f);
    }
    throw new Error(`tone curve ${type} not handled by the test helper`);
  }
  throw new Error('profile without rTRC');
}

/** Linear sRGB of the pixel at (x, y), unclamped. */
export async function linearSrgbAt(bytes: Uint8Array, x: number, y: number): Promise<Vec> {
  const { icc } = await sharp(bytes).metadata();
  const { data, info } = await sharp(bytes, { ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  const stored = [data[at]! / 255, data[at + 1]! / 255, data[at + 2]! / 255] as Vec;
  if (!icc) return stored.map(srgbToLinear) as Vec;
  const colorants = readColorants(icc);
  if (!colorants) throw new Error('not a matrix RGB profile');
  const curve = toneCurve(icc);
  const toXyz: Mat = [0, 1, 2].map((row) => [colorants[0][row]!, colorants[1][row]!, colorants[2][row]!]) as Mat;
  return apply(invert(SRGB_D50), apply(toXyz, stored.map(curve) as Vec));
}
