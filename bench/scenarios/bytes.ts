/**
 * `bytes`: bytes on the wire at equal visual quality, against ipx (the peer, the same
 * devDependency as the throughput scenarios, on the project's own sharp), in process: both
 * systems make the corpus photos (bench/quality/photos.ts) at 400, 800 and 1080 px in WebP, AVIF
 * and JPEG, and every output is scored with SSIMULACRA2 against the lossless resize of the same
 * request. Reported per format:
 *
 *  - bytes and mean / worst score at each system's defaults (the project: its pipeline at the
 *    quality target, the calibrated quality per format, which the targets are judged on, and
 *    also with autoquality, the preset-level option; ipx: no `q`);
 *  - ipx's quality swept: its total bytes at the project's mean score (interpolated between the
 *    two swept qualities around it, bytes log-linearly), and the project's total over that;
 *  - the project's worst photo against ipx's worst default photo;
 *  - the spread of the project's mean score across formats.
 *
 * ipx does not apply EXIF orientation: for a rotated source it is asked for the stored height
 * that becomes the requested width, and its WebP and JPEG output (sent sideways) is turned upright
 * before scoring; its AVIF carries the turn as an `irot` box, which the decoder applies. Its bytes
 * are what it sends.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createIPX, ipxFSStorage } from 'ipx';
import sharp from 'sharp';
import { loadConfig } from '../../origin/config.js';
import { autoQualityLookup, createAutoQualityRecord, type QualityLookup } from '../../origin/load/autoquality.js';
import { canonicalizeSpec } from '../../transforms/canonical.js';
import { createSpecParser } from '../../transforms/parse-spec.js';
import { runPipeline } from '../../transforms/pipeline.js';
import { decodeRgb } from '../../transforms/quality/decode-rgb.js';
import { ssimulacra2Prepared } from '../../transforms/quality/ssimulacra2.js';
import { LOSSY_FORMATS, QUALITY_PHOTOS, QUALITY_WIDTHS, referencePhoto, type LossyFormat, type ReferencePhoto } from '../quality/photos.js';
import { NO_CPU_FIGURES, type Json, type RunFigures, type ScenarioContext } from './types.js';

/** The done-when targets: project bytes ÷ ipx bytes at the same mean score, per format. */
export const BYTES_TARGETS: Readonly<Record<LossyFormat, number>> = { webp: 0.95, avif: 0.85, jpeg: 0.85 };
/** No photo more than this below ipx's worst default photo; mean scores within this across formats. */
export const WORST_MARGIN = 1;
export const SPREAD_LIMIT = 3;

/** ipx's qualities swept: around the scores the project reaches (77–79), where the ratio is read. */
const SWEEP: Readonly<Record<LossyFormat, readonly number[]>> = {
  webp: [70, 75, 80, 85, 90],
  avif: [45, 50, 55, 60, 65, 70],
  jpeg: [70, 75, 80, 85, 90],
};
const TINY_SWEEP: Readonly<Record<LossyFormat, readonly number[]>> = { webp: [60, 95], avif: [35, 80], jpeg: [60, 95] };

interface Outcome {
  readonly bytes: number;
  readonly score: number;
}

interface FormatFigures {
  readonly project: { bytes: number; mean: number; worst: number; worstPhoto: string };
  readonly ipxDefault: { bytes: number; mean: number; worst: number; worstPhoto: string };
  /** The project with autoquality (a preset's `autoQuality: true`, or ORIGIN_AUTOQUALITY=true). */
  readonly autoQuality: { bytes: number; mean: number; worst: number; worstPhoto: string };
  readonly autoQualityRatio: number | null;
  /** ipx's total bytes at the project's mean score (null: outside the swept range). */
  readonly ipxBytesAtProjectScore: number | null;
  readonly ratio: number | null;
  readonly sweep: readonly { quality: number; bytes: number; mean: number }[];
}

const orientationAngle: Readonly<Record<number, number>> = { 1: 0, 3: 180, 6: 90, 8: 270 };

export async function runBytes(ctx: ScenarioContext, round: number): Promise<RunFigures> {
  const started = performance.now();
  const tiny = ctx.options.images === 'tiny';
  // BENCH_BYTES_PHOTOS=n measures the first n photos only (a shorter run on a busy machine).
  const count = Number(process.env['BENCH_BYTES_PHOTOS'] ?? QUALITY_PHOTOS.length);
  const photos = tiny ? QUALITY_PHOTOS.slice(0, 1) : QUALITY_PHOTOS.slice(0, Math.max(1, count));
  const widths = tiny ? [400] : QUALITY_WIDTHS;
  const sweep = tiny ? TINY_SWEEP : SWEEP;
  const config = loadConfig({});
  const limits = config.limits;
  const parse = createSpecParser(limits);
  const dir = await mkdtemp(path.join(ctx.tmpDir ?? os.tmpdir(), 'bytes-'));
  const ipx = createIPX({ storage: ipxFSStorage({ dir }) });

  const project: Record<LossyFormat, Outcome[]> = { webp: [], avif: [], jpeg: [] };
  const withAutoQuality: Record<LossyFormat, Outcome[]> = { webp: [], avif: [], jpeg: [] };
  const ipxDefault: Record<LossyFormat, Outcome[]> = { webp: [], avif: [], jpeg: [] };
  const ipxSwept: Record<LossyFormat, Map<number, Outcome[]>> = { webp: new Map(), avif: new Map(), jpeg: new Map() };
  const labels: string[] = [];
  let probeMs = 0;
  try {
    for (const file of photos) {
      const id = file.replace(/\//g, '_');
      // One record per original, shared by its widths: what the originals tier keeps.
      let lookup: QualityLookup | undefined;
      for (const width of widths) {
        ctx.signal.throwIfAborted();
        const photo = await referencePhoto(file, width);
        if (!lookup) {
          await writeFile(path.join(dir, id), photo.source);
          lookup = autoQualityLookup(createAutoQualityRecord(file), photo.source, config.quality, limits);
        }
        const { orientation = 1 } = await sharp(photo.source).metadata();
        const angle = orientationAngle[orientation];
        if (angle === undefined) throw new Error(`${file}: orientation ${orientation} not handled by the ipx comparison`);
        labels.push(`${file}@${width}`);
        for (const format of LOSSY_FORMATS) {
          const spec = (autoQuality: boolean) =>
            canonicalizeSpec(parse(new URLSearchParams(`w=${width}&fm=${format}`)), { token: 'legacy', dpr: 1, qualityTarget: config.quality.target, autoQuality }, limits);
          const probeStarted = performance.now();
          const measured = await runPipeline(photo.source, spec(true), limits, { qualityFor: lookup });
          probeMs += performance.now() - probeStarted;
          withAutoQuality[format].push(await outcome(photo, measured.data, 0));
          project[format].push(await outcome(photo, (await runPipeline(photo.source, spec(false), limits)).data, 0));
          const ipxAsk = async (q?: number) => {
            const side = angle === 90 || angle === 270 ? { h: String(photo.pixels.width) } : { w: String(photo.pixels.width) };
            const { data } = await ipx(id, { ...side, f: format, ...(q !== undefined && { q: String(q) }) }).process();
            return outcome(photo, Buffer.from(data as Buffer), format === 'avif' ? 0 : angle);
          };
          ipxDefault[format].push(await ipxAsk());
          for (const q of sweep[format]) {
            const list = ipxSwept[format].get(q) ?? [];
            list.push(await ipxAsk(q));
            ipxSwept[format].set(q, list);
          }
        }
        ctx.log(`    bytes: ${file} at ${width} px done`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const figures = {} as Record<LossyFormat, FormatFigures>;
  for (const format of LOSSY_FORMATS) {
    const mine = summarise(project[format], labels);
    const theirs = summarise(ipxDefault[format], labels);
    const curve = [...ipxSwept[format].entries()].map(([quality, list]) => ({ quality, ...summarise(list, labels) }));
    const atScore = bytesAtScore(curve, mine.mean);
    const plain = summarise(withAutoQuality[format], labels);
    const plainAtScore = bytesAtScore(curve, plain.mean);
    figures[format] = {
      project: mine,
      autoQuality: plain,
      autoQualityRatio: plainAtScore === null ? null : plain.bytes / plainAtScore,
      ipxDefault: theirs,
      ipxBytesAtProjectScore: atScore,
      ratio: atScore === null ? null : mine.bytes / atScore,
      sweep: curve.map(({ quality, bytes, mean }) => ({ quality, bytes, mean })),
    };
  }
  const means = LOSSY_FORMATS.map((f) => figures[f].project.mean);
  const spread = Math.max(...means) - Math.min(...means);
  const worstMargin = Math.min(...LOSSY_FORMATS.map((f) => figures[f].project.worst - figures[f].ipxDefault.worst));
  for (const line of renderBytes(figures, spread, labels.length)) ctx.log(line);

  const extra: Record<string, Json> = {
    cases: labels.length,
    spread_points: spread,
    worst_margin_points: worstMargin,
    // Wall time of the project's transforms including the autoquality probes (indicative, shared machine).
    project_transform_ms_total: Math.round(probeMs),
  };
  for (const format of LOSSY_FORMATS) {
    const f = figures[format];
    extra[`${format}_ratio`] = f.ratio;
    extra[`${format}_ratio_autoquality`] = f.autoQualityRatio;
    extra[`${format}_figures`] = f as unknown as Json;
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    name: 'bytes',
    round,
    rps: null,
    p50_ms: null,
    p95_ms: null,
    p99_ms: null,
    requests: labels.length * LOSSY_FORMATS.length,
    seconds,
    peak_rss_mb: null,
    ...NO_CPU_FIGURES,
    note: LOSSY_FORMATS.map((f) => `${f} ${figures[f].ratio === null ? '-' : figures[f].ratio!.toFixed(2)}x ipx`).join(', ') + `, spread ${spread.toFixed(1)}`,
    extra,
  };
}

async function outcome(photo: ReferencePhoto, encoded: Buffer, angle: number): Promise<Outcome> {
  const decoded = angle === 0 ? await decodeRgb(encoded) : await decodeRgb(await sharp(encoded).rotate(angle).png().toBuffer());
  if (decoded.width !== photo.pixels.width || decoded.height !== photo.pixels.height) {
    throw new Error(`${photo.file}: output ${decoded.width}×${decoded.height}, reference ${photo.pixels.width}×${photo.pixels.height}`);
  }
  return { bytes: encoded.byteLength, score: ssimulacra2Prepared(photo.prepared, decoded) };
}

function summarise(list: readonly Outcome[], labels: readonly string[]) {
  const bytes = list.reduce((sum, o) => sum + o.bytes, 0);
  const mean = list.reduce((sum, o) => sum + o.score, 0) / list.length;
  let worstAt = 0;
  list.forEach((o, i) => {
    if (o.score < list[worstAt]!.score) worstAt = i;
  });
  return { bytes, mean, worst: list[worstAt]!.score, worstPhoto: labels[worstAt] ?? '' };
}

/** Total bytes where the swept mean score equals `score`: log-linear between the neighbouring qualities. */
export function bytesAtScore(curve: readonly { bytes: number; mean: number }[], score: number): number | null {
  const points = [...curve].sort((a, b) => a.mean - b.mean);
  for (let i = 1; i < points.length; i++) {
    const lo = points[i - 1]!;
    const hi = points[i]!;
    if (score >= lo.mean && score <= hi.mean) {
      const t = hi.mean === lo.mean ? 0 : (score - lo.mean) / (hi.mean - lo.mean);
      return Math.exp(Math.log(lo.bytes) + t * (Math.log(hi.bytes) - Math.log(lo.bytes)));
    }
  }
  return null;
}

function renderBytes(figures: Record<LossyFormat, FormatFigures>, spread: number, cases: number): string[] {
  const kb = (b: number | null) => (b === null ? '-' : `${(b / 1024).toFixed(0)} KB`);
  const lines = [
    `  bytes (${cases} photo×width cases, SSIMULACRA2 against the lossless resize):`,
    '  | format | project bytes | project mean / worst | ipx default bytes | ipx default mean / worst | ipx bytes at project mean | project ÷ ipx |',
    '  |---|---|---|---|---|---|---|',
  ];
  for (const format of LOSSY_FORMATS) {
    const f = figures[format];
    lines.push(
      `  | ${format} | ${kb(f.project.bytes)} | ${f.project.mean.toFixed(1)} / ${f.project.worst.toFixed(1)} (${f.project.worstPhoto}) | ${kb(f.ipxDefault.bytes)} | ` +
        `${f.ipxDefault.mean.toFixed(1)} / ${f.ipxDefault.worst.toFixed(1)} (${f.ipxDefault.worstPhoto}) | ${kb(f.ipxBytesAtProjectScore)} | ${f.ratio === null ? '-' : f.ratio.toFixed(3)} |`,
    );
  }
  for (const format of LOSSY_FORMATS) {
    const c = figures[format].autoQuality;
    const ratio = figures[format].autoQualityRatio;
    lines.push(`  with autoquality: ${format} ${kb(c.bytes)}, mean ${c.mean.toFixed(1)} / worst ${c.worst.toFixed(1)}, ${ratio === null ? '-' : ratio.toFixed(3)}x ipx at that mean`);
  }
  lines.push(`  project mean score spread across formats: ${spread.toFixed(2)} points`);
  return lines;
}
