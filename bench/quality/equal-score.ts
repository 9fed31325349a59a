/**
 * Encoder settings compared at equal SSIMULACRA2 score (`node dist/bench/encoder-settings.js
 * --at-score [77] [--widths 400,800,1080] [--photos 9] [--json out.json]`): for every quality photo
 * (bench/quality/photos.ts) at every width, each candidate setting is encoded at a few qualities
 * around the one that meets the score, and its bytes and encode CPU time are interpolated (bytes
 * log-linearly) at exactly that score. Totals over all photos and widths are compared with the
 * format's current setting (transforms/formats.ts) and priced by the cost model.
 *
 * CPU time is process CPU (process.cpuUsage, all threads) around the encode alone, with
 * sharp.concurrency(1): on a shared machine it is steadier than wall time, but still indicative.
 */
import { writeFileSync } from 'node:fs';
import sharp, { type AvifOptions, type JpegOptions, type WebpOptions } from 'sharp';
import { calibratedQuality } from '../../transforms/quality/calibration.js';
import { CPU_SECONDS_PER_BYTE, variantCost } from './cost-model.js';
import { QUALITY_PHOTOS, referencePhoto, scoreAgainst, type EncoderSetting, type LossyFormat, type ReferencePhoto } from './photos.js';

interface Candidate {
  readonly label: string;
  readonly format: LossyFormat;
  readonly options: (quality: number) => EncoderSetting;
  /** The setting transforms/formats.ts uses (the baseline of the ratios). */
  readonly current?: boolean;
}

const avif = (effort: number, chroma: '4:4:4' | '4:2:0', extra: AvifOptions = {}) => (quality: number): EncoderSetting => ({
  format: 'avif',
  options: { quality, effort, chromaSubsampling: chroma, ...extra },
});

const webp = (options: WebpOptions) => (quality: number): EncoderSetting => ({ format: 'webp', options: { quality, ...options } });

const jpeg = (options: JpegOptions) => (quality: number): EncoderSetting => ({ format: 'jpeg', options: { quality, ...options } });

const CANDIDATES: readonly Candidate[] = [
  { label: 'effort 2, 4:4:4', format: 'avif', options: avif(2, '4:4:4'), current: true },
  { label: 'effort 3, 4:4:4', format: 'avif', options: avif(3, '4:4:4') },
  { label: 'effort 4, 4:4:4 (sharp default)', format: 'avif', options: avif(4, '4:4:4') },
  { label: 'effort 3, 4:2:0', format: 'avif', options: avif(3, '4:2:0') },
  { label: 'effort 4, 4:2:0', format: 'avif', options: avif(4, '4:2:0') },
  // sharp 0.35's default tune is already iq (the same bytes as no tune); ssim and psnr spend more.
  { label: 'effort 2, 4:4:4, tune ssim', format: 'avif', options: avif(2, '4:4:4', { tune: 'ssim' }) },
  { label: 'effort 2, 4:4:4, 10 bit', format: 'avif', options: avif(2, '4:4:4', { bitdepth: 10 }) },
  { label: 'effort 3, 4:4:4, 10 bit', format: 'avif', options: avif(3, '4:4:4', { bitdepth: 10 }) },
  { label: 'effort 4 (sharp default)', format: 'webp', options: webp({ effort: 4 }) },
  { label: 'effort 2', format: 'webp', options: webp({ effort: 2 }) },
  { label: 'effort 0 (economy)', format: 'webp', options: webp({ effort: 0 }) },
  { label: 'effort 6', format: 'webp', options: webp({ effort: 6 }) },
  { label: 'effort 4, smartSubsample', format: 'webp', options: webp({ effort: 4, smartSubsample: true }) },
  { label: 'effort 5', format: 'webp', options: webp({ effort: 5 }), current: true },
  { label: 'effort 4, preset photo', format: 'webp', options: webp({ effort: 4, preset: 'photo' }) },
  { label: 'effort 4, preset picture', format: 'webp', options: webp({ effort: 4, preset: 'picture' }) },
  { label: 'effort 4, smartDeblock', format: 'webp', options: webp({ effort: 4, smartDeblock: true }) },
  { label: 'effort 5, preset photo', format: 'webp', options: webp({ effort: 5, preset: 'photo' }) },
  { label: 'effort 5, preset picture', format: 'webp', options: webp({ effort: 5, preset: 'picture' }) },
  { label: 'mozjpeg', format: 'jpeg', options: jpeg({ mozjpeg: true }) },
  { label: 'libjpeg-turbo baseline (sharp default)', format: 'jpeg', options: jpeg({}) },
  { label: 'libjpeg-turbo progressive', format: 'jpeg', options: jpeg({ progressive: true }) },
  // mozjpeg's parts one at a time (mozjpeg: true is all of them plus optimised scans).
  { label: 'quant table 3', format: 'jpeg', options: jpeg({ quantisationTable: 3 }) },
  { label: 'quant table 3, progressive', format: 'jpeg', options: jpeg({ quantisationTable: 3, progressive: true }) },
  { label: 'trellis, quant table 3', format: 'jpeg', options: jpeg({ quantisationTable: 3, trellisQuantisation: true, overshootDeringing: true }) },
  {
    label: 'trellis, quant table 3, progressive (scans not optimised)',
    format: 'jpeg',
    options: jpeg({ quantisationTable: 3, trellisQuantisation: true, overshootDeringing: true, progressive: true }),
  },
  { label: 'mozjpeg, 4:4:4', format: 'jpeg', options: jpeg({ mozjpeg: true, chromaSubsampling: '4:4:4' }) },
  ...[0, 1, 2, 4, 5, 6, 7, 8].map((table): Candidate => ({
    label: `mozjpeg, quant table ${table}`,
    format: 'jpeg',
    options: jpeg({ mozjpeg: true, quantisationTable: table }),
    ...(table === 2 && { current: true }),
  })),
  ...[2, 5].map((table): Candidate => ({
    label: `fast, quant table ${table}`,
    format: 'jpeg',
    options: jpeg({ quantisationTable: table, progressive: true }),
  })),
];

interface Sample {
  readonly quality: number;
  readonly score: number;
  readonly bytes: number;
  readonly cpuSeconds: number;
}

async function sample(photo: ReferencePhoto, candidate: Candidate, quality: number): Promise<Sample> {
  const setting = candidate.options(quality);
  const { data, width, height } = photo.pixels;
  const input = sharp(data, { raw: { width, height, channels: 3 } }).toFormat(setting.format, setting.options);
  const before = process.cpuUsage();
  const encoded = await input.toBuffer();
  const used = process.cpuUsage(before);
  return { quality, score: await scoreAgainst(photo, encoded), bytes: encoded.byteLength, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** Bytes and CPU at exactly `target`, interpolated between the two samples around it. */
export async function atScore(photo: ReferencePhoto, candidate: Candidate, target: number, step = 6): Promise<{ bytes: number; cpuSeconds: number }> {
  const samples = new Map<number, Sample>();
  const at = async (q: number) => {
    const clamped = Math.min(100, Math.max(1, q));
    if (!samples.has(clamped)) samples.set(clamped, await sample(photo, candidate, clamped));
    return samples.get(clamped)!;
  };
  let low = await at(calibratedQuality(candidate.format, target) - step / 2);
  let high = await at(low.quality + step);
  for (let i = 0; i < 6 && low.score > target && low.quality > 1; i++) [high, low] = [low, await at(low.quality - step)];
  for (let i = 0; i < 6 && high.score < target && high.quality < 100; i++) [low, high] = [high, await at(high.quality + step)];
  const span = high.score - low.score;
  const t = span > 0 ? Math.min(1, Math.max(0, (target - low.score) / span)) : 1;
  return {
    bytes: Math.exp(Math.log(low.bytes) + t * (Math.log(high.bytes) - Math.log(low.bytes))),
    cpuSeconds: low.cpuSeconds + t * (high.cpuSeconds - low.cpuSeconds),
  };
}

export interface EqualScoreRow {
  readonly format: LossyFormat;
  readonly label: string;
  readonly current: boolean;
  readonly bytes: number;
  readonly cpuSeconds: number;
  readonly xBytes: number;
  readonly xCpu: number;
  /** Dollars per variant, averaged over the cases, at the default deliveries. */
  readonly costPerVariant: number;
  readonly byWidth: Record<string, { bytes: number; cpuSeconds: number }>;
}

export async function runEqualScore(
  target: number,
  widths: readonly number[],
  photoCount: number,
  jsonPath?: string,
  formats: readonly LossyFormat[] = ['avif', 'webp', 'jpeg'],
  labelsContaining?: readonly string[],
): Promise<EqualScoreRow[]> {
  const photos = QUALITY_PHOTOS.slice(0, photoCount);
  // The current setting always runs: it is what the ratios are against.
  const chosen = (c: Candidate) => c.current === true || !labelsContaining || labelsContaining.some((part) => c.label.includes(part));
  const candidates = CANDIDATES.filter((c) => formats.includes(c.format) && chosen(c));
  sharp.concurrency(1);
  sharp.cache(false);
  const totals = candidates.map(() => ({ bytes: 0, cpuSeconds: 0, byWidth: {} as Record<string, { bytes: number; cpuSeconds: number }> }));
  let cases = 0;
  for (const width of widths) {
    for (const file of photos) {
      const photo = await referencePhoto(file, width);
      cases++;
      for (const [i, candidate] of candidates.entries()) {
        const r = await atScore(photo, candidate, target);
        const total = totals[i]!;
        total.bytes += r.bytes;
        total.cpuSeconds += r.cpuSeconds;
        const w = (total.byWidth[width] ??= { bytes: 0, cpuSeconds: 0 });
        w.bytes += r.bytes;
        w.cpuSeconds += r.cpuSeconds;
      }
      console.error(`  ${width} px ${file} done`);
    }
  }
  const rows = candidates.map((candidate, i): EqualScoreRow => {
    const total = totals[i]!;
    const base = totals[candidates.findIndex((c) => c.current && c.format === candidate.format)]!;
    return {
      format: candidate.format,
      label: candidate.label,
      current: candidate.current === true,
      bytes: Math.round(total.bytes),
      cpuSeconds: total.cpuSeconds,
      xBytes: total.bytes / base.bytes,
      xCpu: total.cpuSeconds / base.cpuSeconds,
      costPerVariant: variantCost(total.cpuSeconds / cases, total.bytes / cases),
      byWidth: total.byWidth,
    };
  });
  console.log(`\nencoder settings at equal SSIMULACRA2 ${target} (${cases} photo×width cases: ${photos.length} photos at ${widths.join('/')} px)`);
  console.log(`cost model: 1 byte saved per variant is worth ${(CPU_SECONDS_PER_BYTE * 1000).toFixed(1)} CPU-ms (1000 deliveries)`);
  console.log('format | setting | total KB | × bytes | encode CPU s | × CPU | $ per 1000 variants');
  for (const r of rows) {
    console.log(
      `${r.format} | ${r.label}${r.current ? ' *' : ''} | ${(r.bytes / 1024).toFixed(0)} | ${r.xBytes.toFixed(3)} | ${r.cpuSeconds.toFixed(2)} | ${r.xCpu.toFixed(2)} | ${(r.costPerVariant * 1000).toFixed(4)}`,
    );
  }
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ target, widths, photos, rows }, null, 2));
  return rows;
}
