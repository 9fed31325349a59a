/**
 * JPEG settings at equal *mean* score, with the worst photo at that mean (README "Quality and
 * bytes"): `npm run build && node dist/bench/quality/jpeg-worst.js [--at 77]`. Every quality photo
 * at 400, 800 and 1080 px is encoded from its lossless resize with each setting at q70–90 and
 * scored with SSIMULACRA2; the totals are interpolated (bytes log-linearly) where the setting's
 * mean score equals `--at`. The bytes scenario judges the worst photo against ipx's default, so
 * this tells whether a gap there comes from the encoder or from the quality it runs at.
 */
import sharp, { type JpegOptions } from 'sharp';
import { flagValue } from '../flag.js';
import { encodeReference, QUALITY_PHOTOS, QUALITY_WIDTHS, referencePhoto, scoreAgainst } from './photos.js';

const SETTINGS: Readonly<Record<string, JpegOptions>> = {
  'mozjpeg, table 2 (formats.ts)': { mozjpeg: true, quantisationTable: 2 },
  'mozjpeg, table 2, no trellis': { mozjpeg: true, quantisationTable: 2, trellisQuantisation: false },
  'fast: table 5, progressive': { quantisationTable: 5, progressive: true },
  'libjpeg-turbo (ipx)': {},
};
const QUALITIES = [70, 74, 78, 82, 86, 90];

interface Outcome {
  readonly bytes: number;
  readonly score: number;
  readonly cpuMs: number;
}

interface Point {
  readonly bytes: number;
  readonly mean: number;
  readonly worst: number;
  readonly cpuMs: number;
}

/** The point where `mean` equals `at`, between the two swept qualities around it (null outside them). */
function atMean(points: readonly Point[], at: number): Point | null {
  const sorted = [...points].sort((a, b) => a.mean - b.mean);
  for (let i = 1; i < sorted.length; i++) {
    const [lo, hi] = [sorted[i - 1]!, sorted[i]!];
    if (at < lo.mean || at > hi.mean) continue;
    const t = hi.mean === lo.mean ? 0 : (at - lo.mean) / (hi.mean - lo.mean);
    const lerp = (a: number, b: number) => a + t * (b - a);
    return { bytes: Math.exp(lerp(Math.log(lo.bytes), Math.log(hi.bytes))), mean: at, worst: lerp(lo.worst, hi.worst), cpuMs: lerp(lo.cpuMs, hi.cpuMs) };
  }
  return null;
}

async function main(): Promise<void> {
  const at = Number(flagValue('--at') ?? 77);
  sharp.concurrency(1);
  // setting -> quality -> one outcome per photo and width
  const outcomes = new Map<string, Map<number, Outcome[]>>();
  for (const file of QUALITY_PHOTOS) {
    for (const width of QUALITY_WIDTHS) {
      const photo = await referencePhoto(file, width);
      for (const [name, options] of Object.entries(SETTINGS)) {
        for (const quality of QUALITIES) {
          const before = process.cpuUsage();
          const encoded = await encodeReference(photo, { format: 'jpeg', options: { ...options, quality } });
          const cpu = process.cpuUsage(before);
          const score = await scoreAgainst(photo, encoded);
          const bySetting = outcomes.get(name) ?? new Map<number, Outcome[]>();
          outcomes.set(name, bySetting.set(quality, [...(bySetting.get(quality) ?? []), { bytes: encoded.byteLength, score, cpuMs: (cpu.user + cpu.system) / 1000 }]));
        }
      }
      process.stderr.write(`${file} at ${width} px\n`);
    }
  }
  const curve = (name: string): Point[] =>
    [...(outcomes.get(name)?.values() ?? [])].map((list) => ({
      bytes: list.reduce((sum, o) => sum + o.bytes, 0),
      mean: list.reduce((sum, o) => sum + o.score, 0) / list.length,
      worst: Math.min(...list.map((o) => o.score)),
      cpuMs: list.reduce((sum, o) => sum + o.cpuMs, 0),
    }));
  const reference = atMean(curve('libjpeg-turbo (ipx)'), at);
  console.log(`JPEG settings at mean SSIMULACRA2 ${at} (${QUALITY_PHOTOS.length} photos x ${QUALITY_WIDTHS.join('/')} px):`);
  console.log('| setting | bytes | ÷ libjpeg-turbo | worst photo | encode CPU ÷ libjpeg-turbo |\n|---|---:|---:|---:|---:|');
  for (const name of Object.keys(SETTINGS)) {
    const p = atMean(curve(name), at);
    if (!p || !reference) console.log(`| ${name} | outside the swept qualities | | | |`);
    else console.log(`| ${name} | ${(p.bytes / 1024).toFixed(0)} KiB | ${(p.bytes / reference.bytes).toFixed(3)} | ${p.worst.toFixed(1)} | ${(p.cpuMs / reference.cpuMs).toFixed(2)} |`);
  }
}

await main();
