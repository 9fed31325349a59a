/**
 * Encoder-settings benchmark: the measurements behind the choices in transforms/formats.ts.
 *
 *   npm run build && node dist/bench/encoder-settings.js [--json out.json] [--reps N] [--only jpeg,avif]
 *   npm run build && node dist/bench/encoder-settings.js --at-score [77] [--widths 400,800,1080] [--photos 9] [--only jpeg] [--labels 'effort 5,preset'] [--json out.json]
 *
 * The second form compares settings at equal SSIMULACRA2 score rather than equal quality number
 * (bench/quality/equal-score.ts); the choices in formats.ts are made from it by the cost model.
 *
 * For a few corpus images (support/corpus.ts: committed in support/corpus/, or generated from those)
 * it runs the same work a request does (decode with auto-orientation, resize to a feed width
 * without enlarging, encode) once per candidate encoder setting, at the same quality, and reports per setting:
 *
 *   - ms:      median wall time of the whole decode+resize+encode, per image, on ONE core
 *              (sharp.concurrency(1), sharp.cache(false), one image at a time);
 *   - enc ms:  median wall time of the encoder alone: the same setting encoding the already resized
 *              pixels, handed to sharp as raw memory (same rounds, same repetitions);
 *   - bytes:   output size (the encoders are deterministic; a varying size is reported);
 *   - x time / x enc / x bytes: ratios against the format's baseline row (sharp's default setting);
 *   - fidelity of the decoded output against the un-encoded resized pixels, at full output
 *     resolution (alpha composited over mid-grey): mean absolute difference (0-255 scale), PSNR,
 *     and SSIM on luma over 8x8 blocks. Equal quality numbers do not mean equal fidelity across
 *     settings (mozjpeg, for one, switches quantisation tables), so read bytes next to fidelity.
 *
 * Candidates are timed round-robin (one repetition of every candidate, then the next), after one
 * warm-up run each, so that drift in machine load spreads over all of them instead of one.
 * A row marked `*` is the setting transforms/formats.ts uses today (it is added if no candidate
 * matches it).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import sharp, { type AnimationOptions, type Sharp } from 'sharp';
import { DEFAULT_QUALITY_TARGET, encoderOptions, type EncoderOptions } from '../transforms/formats.js';
import { flagValue } from './flag.js';
import { runEqualScore } from './quality/equal-score.js';
import { CORPUS, readCorpus } from '../support/corpus.js';
import type { OutputFormat } from '../transforms/params.js';

// ---------------------------------------------------------------------------------------------
// Inputs and candidates

interface Candidate {
  readonly label: string;
  readonly encoder: EncoderOptions;
  /** The row the others are compared with: sharp's default for the format. */
  readonly baseline?: boolean;
}

interface Group {
  readonly format: OutputFormat;
  readonly candidates: readonly Candidate[];
  /** Timed repetitions per candidate (after one warm-up), unless `--reps` overrides. */
  readonly reps: number;
}

interface InputCase {
  readonly file: string;
  readonly width: number;
  readonly animated: boolean;
  readonly groups: readonly Group[];
}

const JPEG_Q = 80;
const WEBP_Q = 80;
const AVIF_Q = 50;

const JPEG_GROUP: Group = {
  format: 'jpeg',
  reps: 11,
  candidates: [
    // sharp's defaults: baseline (sequential) scan, optimised Huffman tables (optimiseCoding
    // defaults to true in sharp), libjpeg quantisation tables.
    { label: '{} (baseline scan)', encoder: { format: 'jpeg', options: { quality: JPEG_Q } }, baseline: true },
    {
      label: 'progressive+optimiseCoding',
      encoder: { format: 'jpeg', options: { quality: JPEG_Q, progressive: true, optimiseCoding: true } },
    },
    // trellis quantisation, overshoot deringing, optimised progressive scans, quant table 3.
    { label: 'mozjpeg', encoder: { format: 'jpeg', options: { quality: JPEG_Q, mozjpeg: true } } },
  ],
};

const WEBP_GROUP: Group = {
  format: 'webp',
  reps: 7,
  candidates: [
    { label: 'effort 2', encoder: { format: 'webp', options: { quality: WEBP_Q, effort: 2 } } },
    { label: 'effort 4 (default)', encoder: { format: 'webp', options: { quality: WEBP_Q, effort: 4 } }, baseline: true },
    { label: 'effort 6', encoder: { format: 'webp', options: { quality: WEBP_Q, effort: 6 } } },
    {
      label: 'effort 4 +smartSubsample',
      encoder: { format: 'webp', options: { quality: WEBP_Q, effort: 4, smartSubsample: true } },
    },
  ],
};

// sharp's AVIF default is chromaSubsampling '4:4:4' (see sharp's AvifOptions); '4:2:0' is the
// opt-in. The effort rows use the default.
const AVIF_GROUP: Group = {
  format: 'avif',
  // Slow (seconds per image at the default effort) and steady (MAD < 4%), so 3 rounds.
  reps: 3,
  candidates: [
    { label: 'effort 2', encoder: { format: 'avif', options: { quality: AVIF_Q, effort: 2 } } },
    { label: 'effort 3', encoder: { format: 'avif', options: { quality: AVIF_Q, effort: 3 } } },
    { label: 'effort 4 (default)', encoder: { format: 'avif', options: { quality: AVIF_Q, effort: 4 } }, baseline: true },
    {
      label: 'effort 2, 4:2:0',
      encoder: { format: 'avif', options: { quality: AVIF_Q, effort: 2, chromaSubsampling: '4:2:0' } },
    },
    {
      label: 'effort 4, 4:2:0',
      encoder: { format: 'avif', options: { quality: AVIF_Q, effort: 4, chromaSubsampling: '4:2:0' } },
    },
  ],
};

const PNG_GROUP: Group = {
  format: 'png',
  reps: 7,
  candidates: [
    { label: 'level 6 (default)', encoder: { format: 'png', options: { compressionLevel: 6 } }, baseline: true },
    { label: 'level 9', encoder: { format: 'png', options: { compressionLevel: 9 } } },
    // libimagequant to <= 256 colours (quality 100, effort 7, dither 1 are sharp's defaults).
    { label: 'palette (level 6)', encoder: { format: 'png', options: { compressionLevel: 6, palette: true } } },
  ],
};

const GIF_GROUP: Group = {
  format: 'gif',
  reps: 5,
  candidates: [
    { label: 'effort 5', encoder: { format: 'gif', options: { effort: 5 } } },
    { label: 'effort 7 (default)', encoder: { format: 'gif', options: { effort: 7 } }, baseline: true },
  ],
};

const PHOTO_GROUPS = [JPEG_GROUP, WEBP_GROUP, AVIF_GROUP];

const INPUTS: readonly InputCase[] = [
  { file: 'photos/evening-glow-baseline.jpg', width: 1080, animated: false, groups: PHOTO_GROUPS },
  { file: 'photos/colorful-cups-progressive.jpg', width: 1080, animated: false, groups: PHOTO_GROUPS },
  { file: 'photos/the-mouse-3840x2400.jpg', width: 1080, animated: false, groups: PHOTO_GROUPS },
  // 640x400: a 1080 px request does not enlarge it (the pipeline's default), so it stays 640x400.
  { file: 'png/rgba-soft-alpha.png', width: 1080, animated: false, groups: [PNG_GROUP] },
  { file: 'anim/photo-pan-24f.gif', width: 160, animated: true, groups: [GIF_GROUP] },
];

// ---------------------------------------------------------------------------------------------
// Command line

interface Args {
  readonly json?: string;
  readonly reps?: number;
  readonly only?: ReadonlySet<string>;
}

function parseArgs(argv: readonly string[]): Args {
  let json: string | undefined;
  let reps: number | undefined;
  let only: Set<string> | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--json') json = value();
    else if (arg === '--reps') {
      reps = Number(value());
      if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps must be a positive integer');
    } else if (arg === '--only') only = new Set(value().split(',').map((s) => s.trim()));
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node dist/bench/encoder-settings.js [--json <file>] [--reps <n>] [--only jpeg,webp,avif,png,gif]');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return { ...(json !== undefined && { json }), ...(reps !== undefined && { reps }), ...(only && { only }) };
}

// ---------------------------------------------------------------------------------------------
// Paths

// The corpus beside the project, found the same way the tests find it.

// ---------------------------------------------------------------------------------------------
// Pipeline, timing, statistics

/** The request pipeline's shape for a width-only resize (see transforms/pipeline.ts). */
function resized(input: Buffer, c: InputCase): Sharp {
  return sharp(input, { autoOrient: true, animated: c.animated, failOn: 'error' }).resize({
    width: c.width,
    withoutEnlargement: true,
  });
}

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly bytes: number;
}

async function timeOnce(run: () => Promise<Buffer>): Promise<Sample & { readonly output: Buffer }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const output = await run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, bytes: output.length, output };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const hi = sorted[mid] ?? NaN;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? NaN) + hi) / 2;
}

/** Median absolute deviation relative to the median, in percent: a robust noise figure. */
function madPercent(values: readonly number[]): number {
  const m = median(values);
  return (median(values.map((v) => Math.abs(v - m))) / m) * 100;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const geomean = (values: readonly number[]): number =>
  Math.exp(sum(values.map((v) => Math.log(v))) / values.length);

// ---------------------------------------------------------------------------------------------
// Fidelity

interface RawImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

interface Fidelity {
  /** Mean absolute difference per RGB sample, 0-255 scale. */
  readonly mae: number;
  /** PSNR over RGB in dB (Infinity when identical). */
  readonly psnr: number;
  /** Mean SSIM of luma over non-overlapping 8x8 blocks. */
  readonly ssim: number;
}

/** RGB as seen: grey is replicated, alpha composited over mid-grey (128). */
function visibleRgb(img: RawImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n * 3);
  const { data, channels } = img;
  const hasAlpha = channels === 2 || channels === 4;
  const colour = channels >= 3;
  for (let p = 0; p < n; p++) {
    const i = p * channels;
    const r = data[i] ?? 0;
    const g = colour ? (data[i + 1] ?? 0) : r;
    const b = colour ? (data[i + 2] ?? 0) : r;
    const a = hasAlpha ? (data[i + channels - 1] ?? 255) / 255 : 1;
    out[p * 3] = r * a + 128 * (1 - a);
    out[p * 3 + 1] = g * a + 128 * (1 - a);
    out[p * 3 + 2] = b * a + 128 * (1 - a);
  }
  return out;
}

function luma(rgb: Float32Array): Float32Array {
  const y = new Float32Array(rgb.length / 3);
  for (let p = 0; p < y.length; p++) {
    y[p] = 0.299 * (rgb[p * 3] ?? 0) + 0.587 * (rgb[p * 3 + 1] ?? 0) + 0.114 * (rgb[p * 3 + 2] ?? 0);
  }
  return y;
}

function blockSsim(a: Float32Array, b: Float32Array, width: number, height: number): number {
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  const B = 8;
  let total = 0;
  let blocks = 0;
  for (let by = 0; by + B <= height; by += B) {
    for (let bx = 0; bx + B <= width; bx += B) {
      let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (let y = by; y < by + B; y++) {
        for (let x = bx; x < bx + B; x++) {
          const va = a[y * width + x] ?? 0;
          const vb = b[y * width + x] ?? 0;
          sa += va; sb += vb; saa += va * va; sbb += vb * vb; sab += va * vb;
        }
      }
      const n = B * B;
      const ma = sa / n, mb = sb / n;
      const va = saa / n - ma * ma, vb = sbb / n - mb * mb, cov = sab / n - ma * mb;
      total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      blocks++;
    }
  }
  return blocks === 0 ? 1 : total / blocks;
}

function compare(reference: RawImage, decoded: RawImage): Fidelity {
  if (reference.width !== decoded.width || reference.height !== decoded.height) {
    throw new Error(
      `decoded ${decoded.width}x${decoded.height} differs from reference ${reference.width}x${reference.height}`,
    );
  }
  const a = visibleRgb(reference);
  const b = visibleRgb(decoded);
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    abs += Math.abs(d);
    sq += d * d;
  }
  const mse = sq / a.length;
  return {
    mae: abs / a.length,
    psnr: mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse),
    ssim: blockSsim(luma(a), luma(b), reference.width, reference.height),
  };
}

/** Applies the encoder, with frame delays and loop count where the format takes them. */
function withAnimation(image: Sharp, encoder: EncoderOptions, animation: AnimationOptions): Sharp {
  switch (encoder.format) {
    case 'gif':
      return image.gif({ ...encoder.options, ...animation });
    case 'webp':
      return image.webp({ ...encoder.options, ...animation });
    default:
      return image.toFormat(encoder.format, encoder.options);
  }
}

async function decodeRaw(encoded: Buffer, animated: boolean): Promise<RawImage> {
  const { data, info } = await sharp(encoded, { animated }).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

// ---------------------------------------------------------------------------------------------
// Running

interface Row {
  readonly input: string;
  readonly format: OutputFormat;
  readonly label: string;
  readonly options: object;
  readonly baseline: boolean;
  readonly current: boolean;
  readonly reps: number;
  readonly medianMs: number;
  readonly madPercent: number;
  readonly encodeMs: number;
  readonly encodeMadPercent: number;
  /** The encoder-only output differs in size from the pipeline's (should not happen). */
  readonly encodeBytesDiffer: boolean;
  readonly cpuPerWall: number;
  readonly bytes: number;
  readonly bytesVaried: boolean;
  readonly timeRatio: number;
  readonly encodeRatio: number;
  readonly bytesRatio: number;
  readonly fidelity: Fidelity;
  readonly samplesMs: readonly number[];
  readonly encodeSamplesMs: readonly number[];
}

interface InputResult {
  readonly input: string;
  readonly sourceSize: string;
  readonly outputSize: string;
  /** Decode+resize written as raw pixels, timed in each group's rounds: median per group. */
  readonly resizeOnly: readonly { readonly format: OutputFormat; readonly medianMs: number; readonly samplesMs: readonly number[] }[];
  readonly rows: readonly Row[];
}

function sameOptions(a: object, b: object): boolean {
  const norm = (o: object): string =>
    JSON.stringify(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return norm(a) === norm(b);
}

/** The candidates plus the setting formats.ts uses today, marked (added when none matches). */
function withCurrent(group: Group): { candidates: Candidate[]; current: EncoderOptions } {
  const current = encoderOptions(group.format, undefined);
  const candidates = [...group.candidates];
  if (!candidates.some((c) => sameOptions(c.encoder.options, current.options))) {
    candidates.push({ label: `formats.ts ${JSON.stringify(current.options)}`, encoder: current });
  }
  return { candidates, current };
}

async function runInput(c: InputCase, args: Args): Promise<InputResult | undefined> {
  const groups = c.groups.filter((g) => !args.only || args.only.has(g.format));
  if (groups.length === 0) return undefined;
  const input = await readCorpus(c.file);
  const meta = await sharp(input, { animated: c.animated }).metadata();
  const pages = meta.pages ?? 1;
  // Raw pixels carry no frame delays or loop count; give them back so both paths write the same file.
  const animation = c.animated
    ? { ...(meta.delay && { delay: meta.delay }), ...(meta.loop !== undefined && { loop: meta.loop }) }
    : {};

  // The un-encoded resized pixels: the fidelity reference, and the decode+resize-only timing.
  const reference = await resized(input, c).raw().toBuffer({ resolveWithObject: true });
  const ref: RawImage = {
    data: reference.data,
    width: reference.info.width,
    height: reference.info.height,
    channels: reference.info.channels,
  };
  const outH = reference.info.pageHeight ?? reference.info.height;
  const resizeOnly = async (): Promise<Buffer> => resized(input, c).raw().toBuffer();

  const rows: Row[] = [];
  const resizeOnlyStats: InputResult['resizeOnly'][number][] = [];
  for (const group of groups) {
    const { candidates, current } = withCurrent(group);
    const reps = args.reps ?? group.reps;
    const run = (cand: Candidate): Promise<Buffer> =>
      resized(input, c).toFormat(cand.encoder.format, cand.encoder.options).toBuffer();
    const encodeOnly = (cand: Candidate): Promise<Buffer> =>
      withAnimation(
        sharp(reference.data, {
          raw: {
            width: reference.info.width,
            height: reference.info.height,
            channels: reference.info.channels,
            ...(reference.info.pageHeight !== undefined && { pageHeight: reference.info.pageHeight }),
          },
        }),
        cand.encoder,
        animation,
      ).toBuffer();

    // Warm-up, which also gives the output whose size and fidelity are reported.
    const outputs: Buffer[] = [];
    for (const cand of candidates) outputs.push((await timeOnce(() => run(cand))).output);
    await resizeOnly();

    // Each round: decode+resize only, then every candidate once through the whole pipeline and
    // once as encoder only.
    const samples: Sample[][] = candidates.map(() => []);
    const encodeSamples: Sample[][] = candidates.map(() => []);
    const resizeSamples: number[] = [];
    for (let r = 0; r < reps; r++) {
      resizeSamples.push((await timeOnce(resizeOnly)).wallMs);
      for (const [i, cand] of candidates.entries()) {
        const whole = await timeOnce(() => run(cand));
        samples[i]?.push({ wallMs: whole.wallMs, cpuMs: whole.cpuMs, bytes: whole.bytes });
        const enc = await timeOnce(() => encodeOnly(cand));
        encodeSamples[i]?.push({ wallMs: enc.wallMs, cpuMs: enc.cpuMs, bytes: enc.bytes });
      }
    }

    const fidelities: Fidelity[] = [];
    for (const out of outputs) fidelities.push(compare(ref, await decodeRaw(out, c.animated)));

    const resizeOnlyMs = median(resizeSamples);
    resizeOnlyStats.push({ format: group.format, medianMs: resizeOnlyMs, samplesMs: resizeSamples });
    const baseIndex = candidates.findIndex((cand) => cand.baseline);
    const stats = candidates.map((cand, i) => {
      const s = samples[i] ?? [];
      const e = encodeSamples[i] ?? [];
      const wall = s.map((x) => x.wallMs);
      const encWall = e.map((x) => x.wallMs);
      const medianMs = median(wall);
      return {
        cand,
        medianMs,
        wall,
        encWall,
        mad: madPercent(wall),
        encodeMs: median(encWall),
        encodeMad: madPercent(encWall),
        encodeBytesDiffer: e.some((x) => x.bytes !== outputs[i]?.length),
        cpuPerWall: (sum(s.map((x) => x.cpuMs)) + sum(e.map((x) => x.cpuMs))) / (sum(wall) + sum(encWall)),
        bytes: outputs[i]?.length ?? NaN,
        bytesVaried: s.some((x) => x.bytes !== outputs[i]?.length),
        fidelity: fidelities[i] ?? { mae: NaN, psnr: NaN, ssim: NaN },
      };
    });
    const base = stats[baseIndex] ?? stats[0];
    if (!base) continue;
    for (const st of stats) {
      rows.push({
        input: c.file,
        format: group.format,
        label: st.cand.label,
        options: st.cand.encoder.options,
        baseline: st === base,
        current: sameOptions(st.cand.encoder.options, current.options),
        reps,
        medianMs: st.medianMs,
        madPercent: st.mad,
        encodeMs: st.encodeMs,
        encodeMadPercent: st.encodeMad,
        encodeBytesDiffer: st.encodeBytesDiffer,
        cpuPerWall: st.cpuPerWall,
        bytes: st.bytes,
        bytesVaried: st.bytesVaried,
        timeRatio: st.medianMs / base.medianMs,
        encodeRatio: st.encodeMs / base.encodeMs,
        bytesRatio: st.bytes / base.bytes,
        fidelity: st.fidelity,
        samplesMs: st.wall,
        encodeSamplesMs: st.encWall,
      });
    }
  }

  const frames = pages > 1 && c.animated ? ` x ${pages} frames` : '';
  return {
    input: c.file,
    sourceSize: `${meta.autoOrient.width}x${c.animated ? (meta.pageHeight ?? meta.height) : meta.autoOrient.height}${frames}`,
    outputSize: `${ref.width}x${outH}${frames}`,
    resizeOnly: resizeOnlyStats,
    rows,
  };
}

// ---------------------------------------------------------------------------------------------
// Printing

function table(headers: readonly string[], rows: readonly (readonly string[])[], leftColumns: number): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i < leftColumns ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const fx = (v: number, digits = 2): string => `${v.toFixed(digits)}x`;
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const psnr = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'lossless');

function printInput(result: InputResult): void {
  console.log(
    `\n## ${result.input}  ${result.sourceSize} -> ${result.outputSize}` +
      `   (decode+resize only, raw out, median: ` +
      `${result.resizeOnly.map((r) => `${ms(r.medianMs)} ms in the ${r.format} rounds`).join(', ')})`,
  );
  const headers = [
    'format', 'setting', 'ms', '±MAD', 'enc ms', '±MAD', 'bytes', 'x time', 'x enc', 'x bytes',
    'MAE', 'PSNR dB', 'SSIM-Y', 'cpu/wall', 'n',
  ];
  const rows = result.rows.map((r) => [
    r.format,
    `${r.current ? '*' : ' '}${r.label}${r.baseline ? ' [base]' : ''}`,
    ms(r.medianMs),
    `${r.madPercent.toFixed(1)}%`,
    ms(r.encodeMs),
    `${r.encodeMadPercent.toFixed(1)}%`,
    `${r.bytes}${r.bytesVaried ? '~' : ''}${r.encodeBytesDiffer ? '≠' : ''}`,
    fx(r.timeRatio),
    fx(r.encodeRatio),
    fx(r.bytesRatio, 3),
    r.fidelity.mae.toFixed(3),
    psnr(r.fidelity.psnr),
    r.fidelity.ssim.toFixed(4),
    r.cpuPerWall.toFixed(2),
    String(r.reps),
  ]);
  console.log(table(headers, rows, 2));
}

interface SummaryRow {
  readonly format: OutputFormat;
  readonly label: string;
  readonly current: boolean;
  readonly baseline: boolean;
  readonly inputs: number;
  readonly timeRatio: number;
  readonly encodeRatio: number;
  readonly bytesRatio: number;
  readonly totalBytesRatio: number;
  /** Mean PSNR over inputs (Infinity if lossless everywhere). */
  readonly psnr: number;
  /** Mean PSNR change against the baseline; NaN where the baseline is lossless and this is not. */
  readonly psnrDelta: number;
  readonly ssimDelta: number;
  readonly maeDelta: number;
}

/** Per format and setting, across inputs: geometric means of the ratios, mean fidelity deltas. */
function summarise(results: readonly InputResult[]): SummaryRow[] {
  const all = results.flatMap((r) => r.rows);
  const out: SummaryRow[] = [];
  const keys = [...new Set(all.map((r) => `${r.format}\u0000${r.label}`))];
  for (const key of keys) {
    const rows = all.filter((r) => `${r.format}\u0000${r.label}` === key);
    const first = rows[0];
    if (!first) continue;
    const bases = rows.map((r) => all.find((b) => b.input === r.input && b.format === r.format && b.baseline));
    const delta = (pick: (f: Fidelity) => number): number =>
      sum(rows.map((r, i) => {
        const b = bases[i];
        if (!b) return NaN;
        const [x, y] = [pick(r.fidelity), pick(b.fidelity)];
        if (x === y) return 0; // also lossless against lossless
        return Number.isFinite(x) && Number.isFinite(y) ? x - y : NaN;
      })) / rows.length;
    out.push({
      format: first.format,
      label: first.label,
      current: first.current,
      baseline: first.baseline,
      inputs: rows.length,
      timeRatio: geomean(rows.map((r) => r.timeRatio)),
      encodeRatio: geomean(rows.map((r) => r.encodeRatio)),
      bytesRatio: geomean(rows.map((r) => r.bytesRatio)),
      totalBytesRatio: sum(rows.map((r) => r.bytes)) / sum(bases.map((b) => b?.bytes ?? NaN)),
      psnr: sum(rows.map((r) => r.fidelity.psnr)) / rows.length,
      psnrDelta: delta((f) => f.psnr),
      ssimDelta: delta((f) => f.ssim),
      maeDelta: delta((f) => f.mae),
    });
  }
  return out;
}

function printSummary(summary: readonly SummaryRow[]): void {
  console.log('\n## Summary per setting, against the format baseline (geometric mean over inputs)');
  const signed = (v: number, digits: number): string =>
    Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(digits)}` : 'n/a';
  const headers = [
    'format', 'setting', 'inputs', 'x time', 'x enc', 'x bytes', 'x sum bytes', 'PSNR dB', 'dPSNR dB', 'dSSIM-Y', 'dMAE',
  ];
  const rows = summary.map((s) => [
    s.format,
    `${s.current ? '*' : ' '}${s.label}${s.baseline ? ' [base]' : ''}`,
    String(s.inputs),
    fx(s.timeRatio),
    fx(s.encodeRatio),
    fx(s.bytesRatio, 3),
    fx(s.totalBytesRatio, 3),
    psnr(s.psnr),
    signed(s.psnrDelta, 2),
    signed(s.ssimDelta, 4),
    signed(s.maeDelta, 3),
  ]);
  console.log(table(headers, rows, 2));
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.argv.includes('--at-score')) {
    // Equal-score mode (bench/quality/equal-score.ts): bytes and CPU at one SSIMULACRA2 score.
    const next = flagValue('--at-score');
    const target = next !== undefined && /^\d+(\.\d+)?$/.test(next) ? Number(next) : DEFAULT_QUALITY_TARGET;
    const widths = (flagValue('--widths') ?? '400,800,1080').split(',').map(Number);
    const formats = flagValue('--only')?.split(',').filter((f): f is 'avif' | 'webp' | 'jpeg' => f === 'avif' || f === 'webp' || f === 'jpeg');
    await runEqualScore(target, widths, Number(flagValue('--photos') ?? 9), flagValue('--json'), formats, flagValue('--labels')?.split(','));
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  sharp.concurrency(1);
  sharp.cache(false);

  const cpus = os.cpus();
  const env = {
    node: process.version,
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
    encoders: {
      mozjpeg: sharp.versions.mozjpeg, webp: sharp.versions.webp, aom: sharp.versions.aom,
      heif: sharp.versions.heif, png: sharp.versions.png, zlib: sharp.versions['zlib-ng'],
      imagequant: sharp.versions.imagequant, cgif: sharp.versions.cgif,
    },
    cpu: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    platform: `${process.platform} ${process.arch}`,
    sharpConcurrency: sharp.concurrency(),
    loadAvgStart: os.loadavg(),
  };
  console.log('# Encoder settings benchmark');
  console.log(`node ${env.node}, sharp ${env.sharp}, libvips ${env.libvips}`);
  console.log(
    `encoders: mozjpeg ${env.encoders.mozjpeg}, libwebp ${env.encoders.webp}, aom ${env.encoders.aom} (libheif ${env.encoders.heif}), ` +
      `libpng ${env.encoders.png}, zlib-ng ${env.encoders.zlib}, libimagequant ${env.encoders.imagequant}, cgif ${env.encoders.cgif}`,
  );
  console.log(`cpu: ${env.cpu} x ${env.cpuCount} (${env.platform}); sharp.concurrency=${env.sharpConcurrency}, cache off`);
  console.log(`load average at start: ${env.loadAvgStart.map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`quality: JPEG ${JPEG_Q}, WebP ${WEBP_Q}, AVIF ${AVIF_Q}; corpus: ${CORPUS} (and files generated from it)`);
  console.log('ms = median wall ms per image (decode+resize+encode, one core); enc = encoder alone on the resized pixels;');
  console.log('x = ratio to the [base] row (sharp default); x sum bytes = total bytes over the inputs against the base total;');
  console.log('MAE (0-255) / PSNR / SSIM-Y (8x8 blocks) of the decoded output vs the un-encoded resized pixels, full size;');
  console.log('±MAD = median absolute deviation of the timings; cpu/wall ~1.00 = one core; * = the setting formats.ts uses today;');
  console.log('bytes: ~ = varied between runs, ≠ = encoder-only output size differed from the pipeline\'s');

  const started = performance.now();
  const results: InputResult[] = [];
  for (const c of INPUTS) {
    const result = await runInput(c, args);
    if (!result) continue;
    results.push(result);
    printInput(result);
  }
  const summary = summarise(results);
  printSummary(summary);
  const totalSeconds = (performance.now() - started) / 1000;
  const loadAvgEnd = os.loadavg();
  console.log(
    `\ntotal ${totalSeconds.toFixed(1)} s; load average at end: ${loadAvgEnd.map((l) => l.toFixed(2)).join(' ')}`,
  );

  if (args.json) {
    const json = { env: { ...env, loadAvgEnd }, totalSeconds, results, summary };
    const replacer = (_key: string, value: unknown): unknown =>
      typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
    writeFileSync(args.json, `${JSON.stringify(json, replacer, 2)}\n`);
    console.log(`wrote ${args.json}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
