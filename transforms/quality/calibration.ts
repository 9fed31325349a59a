/**
 * The quality each lossy format needs to meet a quality target when nothing is known about the
 * image: the median SSIMULACRA2 score each quality setting reaches on the quality photos
 * (bench/quality/photos.ts: nine corpus photos, upright, 800 px wide, scored against the lossless
 * resize). Measured with `node dist/bench/quality/calibrate.js` (sharp 0.35.5) at the settings
 * before the equal-score choice (AVIF effort 2, WebP effort 4; JPEG unchanged): the efforts now
 * used change bytes far more than scores, but re-measure when an encoder setting changes.
 * Autoquality (origin/load/autoquality.ts) replaces this guess with the image's own answer.
 */
import type { LossyFormat } from '../formats.js';

/** [quality, median score] in rising quality. */
type Curve = readonly (readonly [number, number])[];

// prettier-ignore
export const CALIBRATION: Readonly<Record<LossyFormat, Curve>> = {
  webp: [[20, 48.92], [25, 53.72], [30, 56.87], [35, 59.49], [40, 61.04], [45, 62.94], [50, 65.44], [55, 67.29], [60, 68.36], [65, 70.04], [70, 72.49], [75, 74.06], [80, 77.25], [85, 80.64], [90, 83.66], [95, 88.09]],
  avif: [[20, 42.34], [25, 47.13], [30, 54.62], [35, 61.24], [40, 66.68], [45, 71.79], [50, 75.48], [55, 78.80], [60, 81.06], [65, 82.20], [70, 84.18], [75, 85.53], [80, 87.03], [85, 88.00], [90, 90.53], [95, 93.30]],
  jpeg: [[20, 34.36], [25, 42.23], [30, 48.62], [35, 53.67], [40, 57.89], [45, 60.66], [50, 63.32], [55, 66.05], [60, 67.31], [65, 70.16], [70, 72.14], [75, 74.84], [80, 77.79], [85, 80.42], [90, 83.76], [95, 87.69]],
};

/** The smallest whole quality whose (interpolated) median score reaches `target`, within the measured range. */
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
