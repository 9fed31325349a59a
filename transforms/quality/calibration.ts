/**
 * The quality each lossy format needs to meet a quality target when nothing is known about the
 * image: the mean SSIMULACRA2 score each quality setting reaches on the quality photos
 * (bench/quality/photos.ts: nine corpus photos, upright, scored against the lossless resize) at
 * the feed widths 400, 800 and 1080 px, 27 cases. Measured with `node
 * dist/bench/quality/calibrate.js` (sharp 0.35.5, 2026-12-01) at the encoder settings of
 * transforms/formats.ts (AVIF effort 2 at 8 bits, WebP effort 5, mozjpeg with table 2).
 *
 * The mean, because the bytes a CDN sends (and the bytes scenario's targets) are totals. One
 * curve for every width, although smaller outputs score higher at the same quality (WebP q80:
 * 80.3 at 200 px, 78.8 at 400, 76.5 at 1080): a quality per width evens the scores out, which
 * cost 4 % more WebP bytes at the same mean score in the bytes scenario
 * (bench/results/2026-12-01-vm-bytes-calibrated.json), the way autoquality does per image.
 *
 * Re-measure when an encoder setting changes, and bump KEY_VERSION with it: the same variant key
 * would otherwise name other bytes. Autoquality (origin/load/autoquality.ts) replaces this guess
 * with the image's own answer.
 */
import type { LossyFormat } from '../formats.js';

/** [quality, mean score] in rising quality. */
type Curve = readonly (readonly [number, number])[];

// prettier-ignore
export const CALIBRATION: Readonly<Record<LossyFormat, Curve>> = {
  webp: [[20, 48.69], [25, 52.28], [30, 55.80], [35, 58.75], [40, 61.34], [45, 63.74], [50, 65.57], [55, 67.26], [60, 68.89], [65, 70.53], [70, 71.89], [75, 73.32], [80, 77.48], [85, 81.07], [90, 84.84], [95, 88.14]],
  avif: [[20, 38.14], [25, 43.52], [30, 51.03], [35, 57.47], [40, 62.88], [45, 68.48], [50, 72.62], [55, 76.01], [60, 79.20], [65, 81.04], [70, 83.88], [75, 85.51], [80, 87.23], [85, 88.50], [90, 91.02], [95, 93.44]],
  jpeg: [[20, 37.59], [25, 46.22], [30, 51.82], [35, 56.41], [40, 59.54], [45, 62.58], [50, 64.95], [55, 67.04], [60, 69.07], [65, 71.59], [70, 73.57], [75, 75.79], [80, 78.64], [85, 81.49], [90, 85.14], [95, 89.39]],
};

/** The smallest whole quality whose (interpolated) mean score reaches `target`, within the measured range. */
export function calibratedQuality(format: LossyFormat, target: number): number {
  const curve = CALIBRATION[format];
  let best = -Infinity;
  let previous: readonly [number, number] | undefined;
  for (const point of curve) {
    // Scores may dip by noise between neighbouring settings: the curve is made non-decreasing.
    const score = Math.max(best, point[1]);
    best = score;
    if (score >= target) {
      if (!previous || previous[1] >= target) return point[0];
      const [q0, s0] = previous;
      return Math.ceil(q0 + ((target - s0) / (score - s0)) * (point[0] - q0));
    }
    previous = [point[0], score];
  }
  return curve[curve.length - 1]![0];
}
