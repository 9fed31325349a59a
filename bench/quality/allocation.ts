/**
 * What choosing each photo's quality could save (README "Quality and bytes"):
 * `npm run build && node dist/bench/quality/allocation.js [--format jpeg,webp] [--at 77] [--floor 74.8]`.
 * Every quality photo at 400, 800 and 1080 px is encoded with the shipped setting over a sweep of
 * qualities and scored with SSIMULACRA2 (the lossless resize as reference), and so is the
 * autoquality probe of each photo (transforms/quality/probe-quality.ts). Ways to give each photo
 * one quality for all its widths are compared by their bytes against one quality for every photo
 * at the same mean score:
 * - one quality for every photo, at mean `--at` (what the origin ships);
 * - the least total bytes, from the variants' real scores (an oracle): each photo where one more
 *   point costs the same bytes as on every other (equal slope, a Lagrange multiplier set for the
 *   mean `--at`);
 * - the same rule applied to what the probe sees (its score against its bytes per pixel), with the
 *   multiplier set on these photos (so in-sample: the best a probe could do here);
 * - the shipped quality, raised on the photos whose worst width scores under `--floor` (oracle).
 * Scores are interpolated linearly and bytes log-linearly between swept qualities.
 */
import sharp from 'sharp';
import { readCorpus } from '../../support/corpus.js';
import { encoderOptions } from '../../transforms/formats.js';
import { DEFAULT_LIMITS } from '../../transforms/limits.js';
import { makeProbe } from '../../transforms/quality/probe-quality.js';
import { flagValue } from '../flag.js';
import {
  encodeReference,
  LOSSY_FORMATS,
  QUALITY_PHOTOS,
  QUALITY_WIDTHS,
  referencePhoto,
  scoreAgainst,
  type EncoderSetting,
  type LossyFormat,
  type ReferencePhoto,
} from './photos.js';

const SWEEP: Readonly<Record<LossyFormat, readonly number[]>> = {
  jpeg: [50, 55, 60, 65, 70, 74, 78, 82, 86, 90, 94],
  webp: [50, 55, 60, 65, 70, 74, 78, 82, 86, 90, 94],
  avif: [35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85],
};
/** Qualities tried between swept ones. */
const STEP = 0.25;

/** One image encoded at one quality: bytes (per pixel for the probe) and score. */
interface Outcome {
  readonly bytes: number;
  readonly score: number;
}

/** One photo at every swept quality: its variants (one outcome per width) and its probe. */
interface PhotoCurves {
  readonly variants: ReadonlyMap<number, readonly Outcome[]>;
  readonly probe: ReadonlyMap<number, Outcome>;
}

interface Totals {
  readonly bytes: number;
  readonly mean: number;
  readonly worst: number;
}

/** Outcomes at any quality within the sweep, between the swept qualities around it. */
function interpolate(sweep: readonly number[], at: (quality: number) => readonly Outcome[], quality: number): Outcome[] {
  const i = Math.min(sweep.length - 1, Math.max(1, sweep.findIndex((q) => q >= quality)));
  const [lo, hi] = [sweep[i - 1]!, sweep[i]!];
  const t = (quality - lo) / (hi - lo);
  const [a, b] = [at(lo), at(hi)];
  return a.map((x, k) => ({
    bytes: Math.exp(Math.log(x.bytes) + t * (Math.log(b[k]!.bytes) - Math.log(x.bytes))),
    score: x.score + t * (b[k]!.score - x.score),
  }));
}

function totals(outcomes: readonly Outcome[]): Totals {
  return {
    bytes: outcomes.reduce((sum, o) => sum + o.bytes, 0),
    mean: outcomes.reduce((sum, o) => sum + o.score, 0) / outcomes.length,
    worst: Math.min(...outcomes.map((o) => o.score)),
  };
}

/** The `x` in [lo, hi] where a rising `f(x)` reaches `at` (bisection). */
function solve(f: (x: number) => number, at: number, lo: number, hi: number): number {
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < at) lo = mid;
    else hi = mid;
  }
  return hi;
}

async function measureCurves(format: LossyFormat): Promise<PhotoCurves[]> {
  const scored = async (photo: ReferencePhoto, quality: number): Promise<Outcome> => {
    const encoded = await encodeReference(photo, encoderOptions(format, quality) as EncoderSetting);
    return { bytes: encoded.byteLength, score: await scoreAgainst(photo, encoded) };
  };
  const curves: PhotoCurves[] = [];
  for (const file of QUALITY_PHOTOS) {
    const variants = new Map<number, Outcome[]>();
    for (const width of QUALITY_WIDTHS) {
      const photo = await referencePhoto(file, width);
      for (const quality of SWEEP[format]) variants.set(quality, [...(variants.get(quality) ?? []), await scored(photo, quality)]);
    }
    const source = await readCorpus(file);
    const made = await makeProbe(source, DEFAULT_LIMITS);
    const probe: ReferencePhoto = { file, width: made.pixels.width, source, pixels: made.pixels, prepared: made.reference };
    const pixels = made.pixels.width * made.pixels.height;
    const probeCurve = new Map<number, Outcome>();
    for (const quality of SWEEP[format]) {
      const { bytes, score } = await scored(probe, quality);
      probeCurve.set(quality, { bytes: bytes / pixels, score });
    }
    curves.push({ variants, probe: probeCurve });
    process.stderr.write(`${format}: ${file}\n`);
  }
  return curves;
}

function compare(format: LossyFormat, curves: readonly PhotoCurves[], at: number, floor: number): string[] {
  const sweep = SWEEP[format];
  const grid = Array.from({ length: (sweep.at(-1)! - sweep[0]!) / STEP + 1 }, (_, i) => sweep[0]! + i * STEP);
  const variantsAt = (curve: PhotoCurves, quality: number) => totals(interpolate(sweep, (q) => curve.variants.get(q)!, quality));
  const probeAt = (curve: PhotoCurves, quality: number) => interpolate(sweep, (q) => [curve.probe.get(q)!], quality)[0]!;
  const allocate = (qualities: readonly number[]) =>
    totals(curves.flatMap((curve, i) => interpolate(sweep, (q) => curve.variants.get(q)!, qualities[i]!)));
  const uniform = (quality: number) => allocate(curves.map(() => quality));
  const qualityAtMean = (mean: number) => solve((q) => uniform(q).mean, mean, sweep[0]!, sweep.at(-1)!);
  const uniformAtMean = (mean: number) => uniform(qualityAtMean(mean));
  /** Each photo at the quality where `value` is highest; the multiplier is set so the variants' mean is `at`. */
  const bySlope = (value: (curve: PhotoCurves, quality: number, lambda: number) => number) => {
    const choose = (lambda: number) => curves.map((curve) => grid.reduce((best, q) => (value(curve, q, lambda) > value(curve, best, lambda) ? q : best), grid[0]!));
    return allocate(choose(solve((lambda) => -allocate(choose(lambda)).mean, -at, 0, 1e4)));
  };
  const oracle = bySlope((curve, q, lambda) => {
    const variants = variantsAt(curve, q);
    return variants.mean - (lambda * variants.bytes) / 1e6;
  });
  const probed = bySlope((curve, q, lambda) => {
    const probe = probeAt(curve, q);
    return probe.score - lambda * probe.bytes;
  });
  const fixedQuality = qualityAtMean(at);
  const raised = allocate(curves.map((curve) => grid.find((q) => q >= fixedQuality && variantsAt(curve, q).worst >= floor) ?? sweep.at(-1)!));
  const row = (label: string, t: Totals) =>
    `| ${format} | ${label} | ${(t.bytes / 1024).toFixed(0)} KiB | ${t.mean.toFixed(2)} | ${t.worst.toFixed(1)} | ${(t.bytes / uniformAtMean(t.mean).bytes).toFixed(3)} |`;
  return [
    row(`one quality (q${fixedQuality.toFixed(1)})`, uniform(fixedQuality)),
    row('least bytes, real scores (oracle)', oracle),
    row('least bytes as the probe sees it', probed),
    row(`raised to a floor of ${floor} (oracle)`, raised),
  ];
}

async function main(): Promise<void> {
  const at = Number(flagValue('--at') ?? 77);
  const floor = Number(flagValue('--floor') ?? at - 2);
  const formats = (flagValue('--format')?.split(',') ?? LOSSY_FORMATS) as LossyFormat[];
  sharp.concurrency(1);
  const lines = [
    `Quality per photo at mean SSIMULACRA2 ${at} (${QUALITY_PHOTOS.length} photos x ${QUALITY_WIDTHS.join('/')} px, shipped encoder settings):`,
    '| format | each photo\'s quality | bytes | mean | worst | bytes ÷ one quality at the same mean |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const format of formats) lines.push(...compare(format, await measureCurves(format), at, floor));
  console.log(lines.join('\n'));
}

await main();
