/**
 * Calibration behind transforms/quality/calibration.ts: for each lossy format at the project's
 * encoder settings, the mean SSIMULACRA2 score each quality setting reaches on the quality photos
 * (bench/quality/photos.ts) at the feed widths, and at each width on its own (stderr) to show how
 * the score moves with the output size.
 *
 *   npm run build && node dist/bench/quality/calibrate.js [--widths 400,800,1080] [--step 5] [--only avif]
 *
 * It prints the curves to paste into calibration.ts, one format per line.
 */
import { encoderOptions } from '../../transforms/formats.js';
import { flagValue } from '../flag.js';
import { encodeReference, LOSSY_FORMATS, QUALITY_PHOTOS, QUALITY_WIDTHS, referencePhoto, scoreAgainst, type EncoderSetting } from './photos.js';

const widths = flagValue('--widths')?.split(',').map(Number) ?? QUALITY_WIDTHS;
const step = Number(flagValue('--step') ?? 5);
const formats = flagValue('--only')?.split(',') ?? LOSSY_FORMATS;
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

const photos = [];
for (const width of widths) for (const file of QUALITY_PHOTOS) photos.push(await referencePhoto(file, width));
for (const format of LOSSY_FORMATS.filter((f) => formats.includes(f))) {
  const points: string[] = [];
  for (let q = 20; q <= 95; q += step) {
    const setting = encoderOptions(format, q) as EncoderSetting;
    const scored = await Promise.all(photos.map(async (photo) => ({ width: photo.width, score: await scoreAgainst(photo, await encodeReference(photo, setting)) })));
    const all = scored.map((s) => s.score);
    const byWidth = widths.map((w) => `${w} px ${mean(scored.filter((s) => s.width === w).map((s) => s.score)).toFixed(2)}`);
    console.error(`${format} q${q}: mean ${mean(all).toFixed(2)}, worst ${Math.min(...all).toFixed(2)}; ${byWidth.join(', ')}`);
    points.push(`[${q}, ${mean(all).toFixed(2)}]`);
  }
  console.log(`  ${format}: [${points.join(', ')}],`);
}
