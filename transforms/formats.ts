/**
 * Output formats: MIME types, the quality target and the encoder settings, chosen by the cost
 * model (README: "Quality and bytes": encode CPU at $0.0000125 per vCPU-second against bytes ×
 * 1000 deliveries at $0.085/GB, so 1 KB saved per variant is worth 6.8 CPU-seconds). Figures from
 * `node dist/bench/encoder-settings.js --at-score 77 --photos 4` (sharp 0.35.5, one core, four
 * corpus photos at 800 px, or at 400/800/1080 px where a note says 12 cases; indicative, measured
 * on a shared 2-core VM): total bytes and encoder CPU at EQUAL SSIMULACRA2 score 77, not at equal
 * quality number, which means different fidelity across settings. bench/results/
 * 2026-12-01-encoder-settings-at-score.json and -encoder-settings-12-cases.json have them.
 */
import type { AvifOptions, GifOptions, JpegOptions, PngOptions, WebpOptions } from 'sharp';
import type { OutputFormat } from './params.js';
import { calibratedQuality } from './quality/calibration.js';

/** What `fm=auto` reduces the client's `Accept` header to before anything else sees it. */
export type FormatToken = 'avif' | 'webp' | 'legacy';

/** Qualities per lossy format, from a preset; a request's own `q` wins over them. */
export type QualityTable = Readonly<Partial<Record<'jpeg' | 'webp' | 'avif', number>>>;

export const MIME_TYPES: Readonly<Record<OutputFormat, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
};

/** The lossy formats: those with a quality knob, chosen to meet the quality target. */
export type LossyFormat = 'jpeg' | 'webp' | 'avif';
export const LOSSY_FORMATS: readonly LossyFormat[] = ['jpeg', 'webp', 'avif'];
export const isLossy = (format: OutputFormat): format is LossyFormat => format === 'jpeg' || format === 'webp' || format === 'avif';

/**
 * The SSIMULACRA2 score a variant aims at when the request has no `q` (ORIGIN_QUALITY_TARGET, or
 * a preset's `qualityTarget`): about what WebP q80 reaches on the corpus photos at feed sizes.
 */
export const DEFAULT_QUALITY_TARGET = 77;

/** Quality per lossy format for one image: what autoquality found it needs to meet the target. */
export type FormatQualities = Readonly<Partial<Record<LossyFormat, number>>>;

/**
 * Quality for a client that sent `Save-Data: on`: 70% of what it would get otherwise, which at
 * feed sizes roughly halves the bytes of JPEG and WebP while staying clearly recognisable.
 */
export function saveDataQuality(quality: number): number {
  return Math.max(1, Math.round(quality * 0.7));
}

/** Where a variant's quality comes from, before the source is known. */
export interface QualityInputs {
  /** The request's own `q`: wins over everything. */
  readonly q?: number | undefined;
  /** A preset's fixed qualities per format. */
  readonly qt?: QualityTable | undefined;
  /** The quality target (SSIMULACRA2 score) the format's quality is chosen to meet. */
  readonly tq?: number | undefined;
  /** Save-Data: the quality is lowered after it is chosen. */
  readonly sd?: boolean | undefined;
}

/**
 * The one rule for the quality a lossy format is encoded at: the request's `q`, else the preset's
 * table (`qt`), else what meets the target (`tq`): the image's own autoquality result when the
 * pipeline has one, else the calibrated quality for the format; lowered for Save-Data (`sd`).
 * Undefined for formats without a quality knob.
 */
export function qualityFor(format: OutputFormat, inputs: QualityInputs, image?: FormatQualities): number | undefined {
  if (!isLossy(format)) return undefined;
  const quality = fixedQuality(format, inputs) ?? image?.[format] ?? calibratedQuality(format, inputs.tq ?? DEFAULT_QUALITY_TARGET);
  return inputs.sd ? saveDataQuality(quality) : quality;
}

/** A quality the request or the preset fixed, which no per-image measurement may change. */
export function fixedQuality(format: OutputFormat, inputs: QualityInputs): number | undefined {
  return isLossy(format) ? (inputs.q ?? inputs.qt?.[format]) : undefined;
}

export type EncoderOptions =
  | { readonly format: 'jpeg'; readonly options: JpegOptions }
  | { readonly format: 'png'; readonly options: PngOptions }
  | { readonly format: 'webp'; readonly options: WebpOptions }
  | { readonly format: 'avif'; readonly options: AvifOptions }
  | { readonly format: 'gif'; readonly options: GifOptions };

/**
 * The encoder settings an operator may trade (ORIGIN_JPEG_ENCODER, ORIGIN_WEBP_EFFORT,
 * ORIGIN_AVIF_EFFORT): the defaults below spend CPU where the cost model says bytes repay it; a
 * platform whose variants are delivered only a few times each, or that is short of cores at its
 * peak, may choose cheaper ones. A choice other than the default is part of every variant key.
 */
export interface EncoderChoice {
  readonly jpeg: JpegEncoder;
  readonly webpEffort: number;
  readonly avifEffort: number;
  readonly avifBitDepth: AvifBitDepth;
}

/** AVIF's sample depth: 10 bits carry the same picture in fewer bytes, for more CPU and memory (see `encoderOptions`). */
export type AvifBitDepth = 8 | 10;

/** `mozjpeg`: trellis quantisation and optimised progressive scans; `fast`: libjpeg-turbo with one of mozjpeg's quantisation tables, progressive. */
export type JpegEncoder = 'mozjpeg' | 'fast';
export const JPEG_ENCODERS: readonly JpegEncoder[] = ['mozjpeg', 'fast'];

export const DEFAULT_ENCODERS: EncoderChoice = { jpeg: 'mozjpeg', webpEffort: 5, avifEffort: 2, avifBitDepth: 8 };

export const isDefaultEncoders = (choice: EncoderChoice) =>
  choice.jpeg === DEFAULT_ENCODERS.jpeg &&
  choice.webpEffort === DEFAULT_ENCODERS.webpEffort &&
  choice.avifEffort === DEFAULT_ENCODERS.avifEffort &&
  choice.avifBitDepth === DEFAULT_ENCODERS.avifBitDepth;

/**
 * The economy settings' efforts: never above the operator's own. WebP effort 0: at equal score 77
 * (27 cases, 9 corpus photos at 400/800/1080 px, one core; `encoder-settings.js --at-score 77
 * --only webp`, 2026-12-06) 1.36x effort 5's bytes for 0.30x its encode CPU, against effort 2's
 * 1.07x for 0.42x. An economy answer lives minutes at the CDN, so its CPU is what counts: under 4x
 * overload effort 0 took goodput from 2.88-3.02x cold to 3.19-3.68x (README "Running at peak").
 */
const ECONOMY_EFFORT = { webp: 0, avif: 2 } as const;

/**
 * `economy` is the cheaper setting used when the origin is under pressure (the response is then
 * marked for a short CDN lifetime so the full-quality variant replaces it later).
 */
export function encoderOptions(format: OutputFormat, quality: number | undefined, economy = false, choice: EncoderChoice = DEFAULT_ENCODERS): EncoderOptions {
  const q = quality ?? (isLossy(format) ? calibratedQuality(format, DEFAULT_QUALITY_TARGET) : undefined);
  switch (format) {
    case 'jpeg':
      // At equal SSIMULACRA2 77 (12 cases: 4 photos at 400/800/1080 px, encode CPU on one core;
      // `--at-score 77 --only jpeg`, 2026-12-01): mozjpeg (trellis, optimised progressive scans,
      // quantisation table 3) 563 KB for 0.78 CPU-s; `fast` (table 3, progressive, optimised
      // Huffman) 1.047x the bytes for 0.20x the CPU; trellis without optimised scans 1.02x for
      // 0.68x; table 3 baseline 1.06x for 0.12x; libjpeg-turbo baseline (sharp's and ipx's
      // default) 1.12x for 0.13x, progressive 1.10x for 0.24x; 4:4:4 chroma 1.15x. Of mozjpeg's
      // nine tables, 2 (tuned for MS-SSIM) is 0.979x at the same CPU, 5 0.984x, the rest 1.00x
      // (8) to 1.17x; `fast` with table 5 is 1.021x (with 2: 1.036x). mozjpeg saves about 2 KB
      // per variant over `fast` for 55 ms more CPU: it pays from the 4th delivery (the cost
      // model's 1 KB = 6.8 CPU-s is at 1000). `fast` is the economy setting: fewer bytes and less
      // CPU than the plain progressive it replaced.
      if (economy || choice.jpeg === 'fast') return { format, options: { quality: q, quantisationTable: 5, progressive: true } };
      return { format, options: { quality: q, mozjpeg: true, quantisationTable: 2 } };
    case 'webp':
      // Effort 5. At equal score (12 cases, as above) effort 5 is 0.971x the bytes of effort 4
      // (sharp's and ipx's default) for 1.11-1.19x the encoder CPU: all of effort 6's saving
      // (0.970x), which costs 2.3x. With effort 6 (and AVIF effort 3) the benchmark's mix of new
      // variants fell from 18.7 to 3.2 images/s on 2 cores (`limit`, 2026-12-01) and a 640 px WebP
      // with alpha took 3.7 s: peak capacity, not the cost model, rules effort 6 out. libwebp's
      // `photo`/`picture` presets save another 0.9 % on photos only, and would tune screenshots and
      // drawings for photos: default preset. Effort 2 is 1.04x for 0.45x; economy uses 0 (ECONOMY_EFFORT).
      // smartSubsample 0.995x for 2.2x and smartDeblock 0.977x for 5.5x: off.
      return { format, options: { quality: q, effort: economy ? Math.min(ECONOMY_EFFORT.webp, choice.webpEffort) : choice.webpEffort } };
    case 'avif':
      // Effort 2. At equal score effort 4 (sharp's and ipx's default) is 0.91x the bytes for 8.2x
      // the encoder CPU (2.9 s against 0.35 s per 800 px photo, one core), effort 3 0.96x for 1.7x
      // (measured here: 1.4 s against 1.6 s at 2048 px, 0.30 against 0.20 s at 640 px). By the cost
      // model alone effort 4 is cheapest, but AVIF is 70 % of a feed's misses and dominates their
      // CPU, so each step multiplies the cores a peak needs (see the WebP note): effort 2 keeps the
      // project 3-7x faster than ipx on AVIF. 4:2:0 saves nothing at equal score (0.959 vs 0.958 at
      // effort 3): chroma stays 4:4:4; tune=iq is sharp 0.35's default (the same bytes), ssim
      // 1.08x. 10-bit samples (ORIGIN_AVIF_BIT_DEPTH=10) at effort 2 are 0.96x the bytes for 1.41x
      // the CPU at 400-1080 px (10 bits at effort 3: 0.92x for 2.2x; 12 cases, `--at-score 77
      // --only avif`, 2026-12-01), but 1.6-1.7x the CPU and 40-70 MB more peak memory per 2048 px
      // encode, and in the benchmark raw sharp's peak RSS rose from 323-377 to 505 MB: a step of
      // effort in all but name, held back for the same reason. Economy is 8-bit 4:2:0: 0.85x the time.
      return economy
        ? { format, options: { quality: q, effort: Math.min(ECONOMY_EFFORT.avif, choice.avifEffort), chromaSubsampling: '4:2:0' } }
        : { format, options: { quality: q, effort: choice.avifEffort, ...(choice.avifBitDepth !== 8 && { bitdepth: choice.avifBitDepth }) } };
    case 'png':
      // zlib level 6 against 9: 0.65x the time for 1.05x the bytes, both lossless. A palette would
      // be 0.1x the bytes but lossy and 56x slower.
      return { format, options: { compressionLevel: 6 } };
    case 'gif':
      // libimagequant effort 5 against the default 7: 0.45x the time for 1.04x the bytes, at a
      // visible cost (-1.75 dB PSNR). GIF only reaches legacy clients asking for animation.
      return { format, options: { effort: 5 } };
  }
}
