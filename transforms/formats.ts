/**
 * Output formats: MIME types, per-format quality defaults and the encoder settings, chosen for
 * size and speed on social-feed photos. Figures from `node dist/bench/encoder-settings.js` on the
 * 2-core CI machine (sharp 0.35.5, libvips 8.18.7, one core, three photos resized to 1080 px,
 * geometric means; run twice, timings within 3%): the whole request (decode + resize + encode)
 * against the stated alternative, at the same quality setting.
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
      // mozjpeg (trellis quantisation, progressive scans): 0.83x the bytes of progressive +
      // optimised Huffman coding for 1.8x the time (0.65–0.96x the bytes at equal PSNR). JPEG only
      // reaches clients that take neither WebP nor AVIF, so bytes win; economy drops it.
      return { format, options: economy ? { quality: q, progressive: true } : { quality: q, mozjpeg: true } };
    case 'webp':
      // effort 4 (libwebp's default) against 2: 0.96x the bytes for 1.47x the time, slightly better
      // fidelity. Effort 6 (0.96x bytes, 1.6x time) and smartSubsample (1.05x bytes) do not pay.
      return { format, options: { quality: q, effort: economy ? 2 : 4 } };
    case 'avif':
      // effort 2 against sharp's default 4: 0.15x the time for 1.06x the bytes (-0.5 dB PSNR).
      // AVIF encoding dominates CPU per request, so speed wins. Chroma stays 4:4:4 (sharp's
      // default); economy uses 4:2:0: 0.85x the time, 0.94x the bytes, -1.1 dB on colour.
      return { format, options: { quality: q, effort: 2, ...(economy && { chromaSubsampling: '4:2:0' }) } };
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
