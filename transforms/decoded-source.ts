/**
 * Decode once, derive many. When one original is asked for in many variants at once (a fresh post
 * fanned out to every client type), each variant need not decode the original again: a decode of
 * it, upright and in sRGB, at a bounded size at least twice the variant's, serves them all, and
 * each variant only resizes those pixels and encodes. Twice the size keeps the second resize's
 * pixels about one level of 255 from a resize of the whole original, no further than the origin's
 * own resize from the JPEG is (figures at `DECODE_SIDES`; test/decoded-source.test.ts).
 *
 * Only where the result keeps its meaning: still photos without an ICC profile (colour handling is
 * then the identity), and specs whose geometry does not depend on source coordinates or content
 * (no `crop`/`icrop`/`maxar` regions, no attention or entropy crop), without sharpening or a
 * rotation (the origin's own path then resizes every pixel, exactly), that need at most half the
 * decode's size. Anything else decodes the original, as before.
 */
import { sharp } from './sharp.js';
import type { CanonicalSpec } from './canonical.js';
import type { Size } from './geometry.js';
import type { TransformLimits } from './limits.js';
import type { TransformPlan } from './plan.js';
import type { SourceInfo } from './probe.js';
import type { InputFormat } from './sniff-format.js';

/** Raw 8-bit pixels of the upright original, scaled down to fit a square of some long side. */
export interface DecodedSource {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

/**
 * Where the pipeline may get a shared decode of its source (the load layer decides whether it is
 * worth keeping one, and bounds their memory). `make` decodes at the given long side.
 */
export interface DecodeReuse {
  decodeAt(longSide: number, make: (longSide: number) => Promise<DecodedSource>): Promise<DecodedSource> | undefined;
}

const DERIVABLE_INPUTS: ReadonlySet<InputFormat> = new Set(['jpeg', 'webp', 'avif']);
/**
 * Decode sizes come in these steps, so variants of one original share a few decodes instead of
 * each making its own size. A variant is derived from the smallest step at least twice its size,
 * so the second resize shrinks by 2 to 4 (more only below 256 px). Measured against a resize of
 * every pixel of the upright original (three corpus photos, six specs each): 0.40–0.97 levels of
 * 255 (mean absolute difference), where the origin's own path from the JPEG (shrink-on-load) is
 * 0.18–1.33 off the same reference. Steps of √2 were no closer (0.41–1.66); shrinking one decode
 * by 7 was 1.17 off. Sharpening after the resize amplifies the difference (1.48): not derived.
 */
const DECODE_SIDES = [512, 1024, 2048, 4096] as const;

/** How far the variant scales the source along each axis before any cut (cover scales to cover, then crops). */
function scaleNeeded(plan: TransformPlan, before: Size): number {
  const box = plan.resize;
  if (!box) return 1;
  const x = box.width === undefined ? undefined : box.width / before.width;
  const y = box.height === undefined ? undefined : box.height / before.height;
  if (x === undefined || y === undefined) return x ?? y ?? 1;
  return box.fit === 'inside' || box.fit === 'contain' ? Math.min(x, y) : Math.max(x, y);
}

/**
 * The long side of the decode this variant can be derived from, or undefined when it must decode
 * the original: the smallest step at least twice what the variant needs and no larger than the source.
 */
export function decodeSideFor(spec: CanonicalSpec, source: SourceInfo, plan: TransformPlan): number | undefined {
  if (!DERIVABLE_INPUTS.has(source.format) || source.pages > 1 || source.hasProfile !== false || plan.density !== undefined) return undefined;
  if (spec.crop || spec.icrop || spec.maxar || spec.pos === 'attention' || spec.pos === 'entropy' || plan.crop) return undefined;
  if (spec.sharpen !== undefined || plan.rotate !== 0 || plan.tilt !== undefined || plan.output.gainMap) return undefined;
  const needed = 2 * scaleNeeded(plan, source) * Math.max(source.width, source.height);
  const sourceSide = Math.max(source.width, source.height);
  const side = DECODE_SIDES.find((s) => s >= needed);
  return side !== undefined && side < sourceSide ? side : undefined;
}

/** The decode itself: upright (EXIF orientation applied), shrunk on load where the format allows, sRGB, 8 bits. */
export async function decodeSource(input: Buffer, longSide: number, limits: TransformLimits): Promise<DecodedSource> {
  const { data, info } = await sharp(input, { autoOrient: true, limitInputPixels: limits.maxInputPixels, failOn: 'error' })
    .timeout({ seconds: limits.timeoutSeconds })
    .resize({ width: longSide, height: longSide, fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** The decode as the source the variant's plan is made against: same format and alpha, its size. */
export function decodedAsSource(source: SourceInfo, decoded: DecodedSource): SourceInfo {
  return { ...source, width: decoded.width, height: decoded.height, orientation: 1 };
}

/** Opens the decode for the variant's chain of steps. */
export function openDecoded(decoded: DecodedSource, limits: TransformLimits) {
  const { data, width, height, channels } = decoded;
  return sharp(data, { raw: { width, height, channels } }).timeout({ seconds: limits.timeoutSeconds });
}
