/**
 * Output formats: MIME types, per-format quality defaults and the encoder settings, chosen for
 * size and speed on social-feed photos. Measured with `node dist/bench/encoder-settings.js` on the
 * 2-core CI machine (sharp 0.35.5, libvips 8.18.7), resizing a 4 MP photo to 1080 px; see that
 * script for the full table. The figures behind each choice are in the comments below.
 */
import type { AvifOptions, GifOptions, JpegOptions, PngOptions, WebpOptions } from 'sharp';
import type { OutputFormat } from './spec.js';

/** What `fm=auto` reduces the client's `Accept` header to before anything else sees it. */
export type FormatToken = 'avif' | 'webp' | 'legacy';

export const MIME_TYPES: Readonly<Record<OutputFormat, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
};

/** Quality used when the request has no `q`; formats without a quality knob are absent. */
export const DEFAULT_QUALITY: Readonly<Partial<Record<OutputFormat, number>>> = {
  jpeg: 80,
  webp: 80,
  // AVIF's scale is harsher: 50 looks like JPEG 80 at roughly half the bytes.
  avif: 50,
};

export function hasQuality(format: OutputFormat): boolean {
  return DEFAULT_QUALITY[format] !== undefined;
}

export type EncoderOptions =
  | { readonly format: 'jpeg'; readonly options: JpegOptions }
  | { readonly format: 'png'; readonly options: PngOptions }
  | { readonly format: 'webp'; readonly options: WebpOptions }
  | { readonly format: 'avif'; readonly options: AvifOptions }
  | { readonly format: 'gif'; readonly options: GifOptions };

export function encoderOptions(format: OutputFormat, quality: number | undefined): EncoderOptions {
  const q = quality ?? DEFAULT_QUALITY[format];
  switch (format) {
    case 'jpeg':
      // mozjpeg (trellis quantisation + progressive scans) makes files ~10% smaller than plain
      // progressive + optimised Huffman coding, for ~1.4x the encode time of a resize to 1080 px.
      // JPEG only reaches clients that cannot take WebP/AVIF, so size wins.
      return { format, options: { quality: q, mozjpeg: true } };
    case 'webp':
      // effort 4 (libwebp's default) against 2: ~4% smaller for ~1.3x time; kept, since WebP is
      // the common fallback and 4 is still far cheaper than AVIF.
      return { format, options: { quality: q, effort: 4 } };
    case 'avif':
      // effort 2 against sharp's default 4: ~3% larger files for less than half the encode time.
      // AVIF encoding dominates CPU per request, so speed wins here.
      return { format, options: { quality: q, effort: 2 } };
    case 'png':
      // zlib level 6 against 9: ~2% larger for half the time; adaptive filtering off (libvips default).
      return { format, options: { compressionLevel: 6 } };
    case 'gif':
      // libimagequant effort 5 (of 10) halves the quantisation time of the default 7.
      return { format, options: { effort: 5 } };
  }
}
