/**
 * Whether a source's ICC profile describes an RGB space wider than sRGB (Display P3, Adobe RGB,
 * ProPhoto, …), read from the profile's colorants (`rXYZ`, `gXYZ`, `bXYZ`: the primaries, adapted
 * to D50 as ICC requires): the area of their chromaticity triangle against sRGB's. Profiles
 * without colorants (LUT-only, grey, CMYK) count as not wide: their output is sRGB as always.
 */

type Xy = readonly [number, number];

function tagTable(icc: Buffer): Map<string, { offset: number; size: number }> {
  const tags = new Map<string, { offset: number; size: number }>();
  if (icc.length < 132) return tags;
  const count = Math.min(icc.readUInt32BE(128), 100);
  for (let i = 0; i < count; i++) {
    const at = 132 + i * 12;
    if (at + 12 > icc.length) break;
    tags.set(icc.toString('latin1', at, at + 4), { offset: icc.readUInt32BE(at + 4), size: icc.readUInt32BE(at + 8) });
  }
  return tags;
}

type Xyz = readonly [number, number, number];

/** An `XYZ ` tag's first value. */
function xyzTag(icc: Buffer, tag: { offset: number; size: number } | undefined): Xyz | undefined {
  if (!tag || tag.size < 20 || tag.offset + 20 > icc.length || icc.toString('latin1', tag.offset, tag.offset + 4) !== 'XYZ ') return undefined;
  return [8, 12, 16].map((o) => icc.readInt32BE(tag.offset + o) / 65536) as unknown as Xyz;
}

/** The red, green and blue colorants (XYZ, D50) of an RGB matrix profile. */
export function readColorants(icc: Buffer): readonly [Xyz, Xyz, Xyz] | undefined {
  if (icc.length < 132 || icc.toString('latin1', 16, 20) !== 'RGB ') return undefined;
  const tags = tagTable(icc);
  const colorants = ['rXYZ', 'gXYZ', 'bXYZ'].map((name) => xyzTag(icc, tags.get(name)));
  return colorants.every((c) => c !== undefined) ? (colorants as [Xyz, Xyz, Xyz]) : undefined;
}

function chromaticity([X, Y, Z]: Xyz): Xy {
  const sum = X + Y + Z;
  return sum > 0 ? [X / sum, Y / sum] : [0, 0];
}

const area = ([r, g, b]: readonly [Xy, Xy, Xy]) => Math.abs((g[0] - r[0]) * (b[1] - r[1]) - (b[0] - r[0]) * (g[1] - r[1])) / 2;

/** sRGB's primaries adapted to D50 (the colorants of every sRGB ICC profile). */
const SRGB_AREA = area([
  [0.6484, 0.3309],
  [0.3212, 0.5978],
  [0.1559, 0.066],
]);

/** Display P3 covers ~1.36× sRGB's area, Adobe RGB ~1.35×; a sRGB profile ~1.00×. */
const WIDER_THAN_SRGB = 1.1;

export function isWideGamut(icc: Buffer | undefined): boolean {
  const colorants = icc && readColorants(icc);
  if (!colorants) return false;
  return area([chromaticity(colorants[0]), chromaticity(colorants[1]), chromaticity(colorants[2])]) > SRGB_AREA * WIDER_THAN_SRGB;
}
