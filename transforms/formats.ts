/**
 * Output formats: MIME types, the quality target and the encoder settings, chosen by the cost
 * model (README: "Quality and bytes": encode CPU at $0.0000125 per vCPU-second against bytes ×
 * 1000 deliveries at $0.085/GB, so 1 KB saved per variant is worth 6.8 CPU-seconds). Figures from
 * `node dist/bench/encoder-settings.js --at-score 77 --widths 800 --photos 4` (sharp 0.35.5, one
 * core, four corpus photos at 800 px; indicative, measured on a shared 2-core VM): total bytes and
 * encoder CPU at EQUAL SSIMULACRA2 score 77, not at equal quality number, which means different
 * fidelity across settings. bench/results/2026-12-01-encoder-settings-at-score.json has them.
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
 * `economy` is the cheaper setting used when the origin is under pressure (the response is then
 * marked for a short CDN lifetime so the full-quality variant replaces it later).
 */
export function encoderOptions(format: OutputFormat, quality: number | undefined, economy = false): EncoderOptions {
  const q = quality ?? (isLossy(format) ? calibratedQuality(format, DEFAULT_QUALITY_TARGET) : undefined);
  switch (format) {
    case 'jpeg':
      // mozjpeg (trellis quantisation, progressive scans) at equal score: 0.90x the bytes of
      // libjpeg-turbo baseline (sharp's and ipx's default) and 0.91x progressive, for 8x and 5x the
      // encoder CPU (0.06 s against 0.008 s per 800 px photo): 2.3 KB saved per variant pays 30x
      // over. Economy drops it.
      return { format, options: economy ? { quality: q, progressive: true } : { quality: q, mozjpeg: true } };
    case 'webp':
      // Effort 4 (sharp's and ipx's default). At equal score effort 6 is 0.95x the bytes for 2.4x
      // the encoder CPU (+0.1 s per 800 px photo for 2 KB saved: worth 13 CPU-s by the cost model
      // alone), but it is the peak capacity that pays: with effort 6 (and AVIF effort 3) the
      // benchmark's mix of new variants fell from 18.7 to 3.2 images/s on 2 cores (`limit`, the
      // same machine, 2026-12-01), a 640 px WebP with alpha took 3.7 s, and the project made WebP
      // 0.39-0.52x as fast as ipx. Effort 2 is 1.05x the bytes for 0.45x (the economy setting).
      // smartSubsample costs bytes (1.01x) and 2.2x the CPU: off.
      return { format, options: { quality: q, effort: economy ? 2 : 4 } };
    case 'avif':
      // Effort 2. At equal score effort 4 (sharp's and ipx's default) is 0.91x the bytes for 8.2x
      // the encoder CPU (2.9 s against 0.35 s per 800 px photo, one core), effort 3 0.96x for 1.7x
      // (measured here: 1.4 s against 1.6 s at 2048 px, 0.30 against 0.20 s at 640 px). By the cost
      // model alone effort 4 is cheapest, but AVIF is 70 % of a feed's misses and dominates their
      // CPU, so each step multiplies the cores a peak needs (see the WebP note): effort 2 keeps the
      // project 3-7x faster than ipx on AVIF. 4:2:0 saves nothing at equal score (0.959 vs 0.958 at
      // effort 3): chroma stays 4:4:4; tune=iq is the default's equal (0.958). Economy (under
      // pressure) adds 4:2:0: 0.85x the time.
      return { format, options: economy ? { quality: q, effort: 2, chromaSubsampling: '4:2:0' } : { quality: q, effort: 2 } };
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
