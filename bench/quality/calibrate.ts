/**
 * Calibration behind transforms/quality/calibration.ts: for each lossy format at the project's
 * encoder settings, the SSIMULACRA2 score each quality setting reaches on the quality photos
 * (bench/quality/photos.ts) at 800 px, as the median over the photos.
 *
 *   npm run build && node dist/bench/quality/calibrate.js [--width 800] [--step 5]
 */
import { encoderOptions } from '../../transforms/formats.js';
import { encodeReference, LOSSY_FORMATS, QUALITY_PHOTOS, referencePhoto, scoreAgainst, type EncoderSetting } from './photos.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const width = arg('width', 800);
const step = arg('step', 5);
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const photos = [];
for (const file of QUALITY_PHOTOS) photos.push(await referencePhoto(file, width));
for (const format of LOSSY_FORMATS) {
  const rows: string[] = [];
  for (let q = 20; q <= 95; q += step) {
    const scores: number[] = [];
    for (const photo of photos) {
      const setting = encoderOptions(format, q) as EncoderSetting;
      scores.push(await scoreAgainst(photo, await encodeReference(photo, setting)));
    }
    rows.push(`[${q}, ${median(scores).toFixed(2)}]`);
    console.error(format, q, median(scores).toFixed(2), Math.min(...scores).toFixed(2));
  }
  console.log(`${format}: [${rows.join(', ')}],`);
}
