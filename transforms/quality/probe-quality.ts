/**
 * Autoquality's measurement, as pure async functions (sharp and the metric, no state): a small
 * probe of the original (about 0.3 MP, upright, sRGB) and, per lossy format, the lowest quality
 * whose encoding of the probe scores at least the target with SSIMULACRA2, found in a few encodes.
 * The same bytes always give the same answer (the encoders and the metric are deterministic), so
 * variant keys and ETags stay stable for a source version.
 */
import { sharp } from '../sharp.js';
import { encoderOptions, type EncoderChoice, type LossyFormat } from '../formats.js';
import type { TransformLimits } from '../limits.js';
import { calibratedQuality } from './calibration.js';
import { decodeRgb } from './decode-rgb.js';
import { prepareReference, ssimulacra2Prepared, type PreparedReference, type RgbImage } from './ssimulacra2.js';

/** About a 820×365 … 670×450 image: large enough for the metric's six scales, small enough to encode fast. */
export const PROBE_PIXELS = 300_000;
/** At most this many encodes per format and target. */
export const MAX_PROBE_ENCODES = 5;
/** First step away from the calibrated guess, in quality points; it doubles while the target is not crossed. */
const GALLOP = 4;

export interface Probe {
  readonly pixels: RgbImage;
  readonly reference: PreparedReference;
}

export interface QualityRange {
  readonly min: number;
  readonly max: number;
}

export interface ProbeResult {
  readonly quality: number;
  /** Encodes the search made. */
  readonly encodes: number;
  /** The probe's score at `quality`, when it was encoded at it. */
  readonly score?: number;
}

/** The source made upright, downscaled to at most PROBE_PIXELS (never enlarged), alpha dropped. */
export async function makeProbe(source: Buffer, limits: Pick<TransformLimits, 'maxInputPixels' | 'timeoutSeconds'>): Promise<Probe> {
  const image = sharp(source, { autoOrient: true, limitInputPixels: limits.maxInputPixels, failOn: 'error' }).timeout({
    seconds: limits.timeoutSeconds,
  });
  const { autoOrient } = await image.metadata();
  const scale = Math.min(1, Math.sqrt(PROBE_PIXELS / (autoOrient.width * autoOrient.height)));
  const width = Math.max(8, Math.round(autoOrient.width * scale));
  const { data, info } = await image
    .resize({ width, withoutEnlargement: true })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pixels: RgbImage = { data, width: info.width, height: info.height };
  return { pixels, reference: prepareReference(pixels) };
}

/** The probe's SSIMULACRA2 score when encoded in `format` at `quality` with the origin's encoder settings. */
export async function probeScore(probe: Probe, format: LossyFormat, quality: number, encoders?: EncoderChoice): Promise<number> {
  const { data, width, height } = probe.pixels;
  const encoder = encoderOptions(format, quality, false, encoders);
  const encoded = await sharp(data, { raw: { width, height, channels: 3 } }).toFormat(encoder.format, encoder.options).toBuffer();
  return ssimulacra2Prepared(probe.reference, await decodeRgb(encoded));
}

/**
 * The lowest quality within `range` that meets `target`, assuming the score rises with quality:
 * from the calibrated guess, steps of GALLOP (doubling) towards the answer, then bisection, at most
 * MAX_PROBE_ENCODES encodes. When even `range.max` misses the target, `range.max`.
 */
export async function searchQuality(
  format: LossyFormat,
  target: number,
  range: QualityRange,
  score: (quality: number) => Promise<number>,
): Promise<ProbeResult> {
  const scores = new Map<number, number>();
  const meets = async (q: number) => {
    if (!scores.has(q)) scores.set(q, await score(q));
    return scores.get(q)! >= target;
  };
  const budgetLeft = () => scores.size < MAX_PROBE_ENCODES;
  let lo = range.min;
  let hi = range.max; // invariant: the answer is in [lo, hi]; hi meets the target or is the ceiling
  const guess = Math.min(range.max, Math.max(range.min, calibratedQuality(format, target)));
  if (await meets(guess)) {
    hi = guess;
    for (let step = GALLOP, q = guess - step; q >= lo && budgetLeft(); step *= 2, q = hi - step) {
      if (await meets(q)) hi = q;
      else {
        lo = q + 1;
        break;
      }
    }
  } else {
    lo = guess + 1;
    for (let step = GALLOP, q = Math.min(hi, guess + step); lo <= hi && budgetLeft(); step *= 2, q = Math.min(hi, lo - 1 + step)) {
      if (await meets(q)) {
        hi = q;
        break;
      }
      lo = q + 1;
    }
  }
  while (lo < hi && budgetLeft()) {
    const mid = Math.floor((lo + hi) / 2);
    if (await meets(mid)) hi = mid;
    else lo = mid + 1;
  }
  const quality = hi;
  const measured = scores.get(quality);
  return { quality, encodes: scores.size, ...(measured !== undefined && { score: measured }) };
}
