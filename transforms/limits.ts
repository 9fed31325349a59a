/**
 * The security-relevant bounds of the transform path. They arrive from the origin's config; the
 * defaults below are the ones the config falls back to, each with the reason for its number.
 */
import { DEFAULT_ENCODERS, type EncoderChoice } from './formats.js';

export interface TransformLimits {
  /** Largest `w`/`h` (after `dpr`) a request may produce, in pixels. */
  readonly maxOutputDimension: number;
  /** Largest source, width × height of one frame, checked from the header before decoding. */
  readonly maxInputPixels: number;
  /** Most frames an animated source may have when animation is kept. */
  readonly maxFrames: number;
  /** Width × height × frames of an animated source when animation is kept. */
  readonly maxAnimatedPixels: number;
  /** Largest encoded output, in bytes. */
  readonly maxOutputBytes: number;
  /** Wall-clock budget libvips gets for one image, in whole seconds. */
  readonly timeoutSeconds: number;
  /** Rasterize SVG sources (only self-contained ones); refuse them as unsupported when false. */
  readonly allowSvg: boolean;
  /**
   * `keep-p3`: wide-gamut sources stay wide (Display P3 outputs) and Ultra HDR JPEGs keep their
   * gain map; `srgb`: every output is plain sRGB. Written into variant keys (canonical spec).
   */
  readonly colour: ColourMode;
  /** The operator's encoder settings (formats.ts); a choice other than the default is written into variant keys. */
  readonly encoders: EncoderChoice;
}

export type ColourMode = 'srgb' | 'keep-p3';
export const COLOUR_MODES: readonly ColourMode[] = ['srgb', 'keep-p3'];

export const DEFAULT_LIMITS: TransformLimits = {
  // 8K on the long side covers every screen and print-ready "full" view a social app shows.
  maxOutputDimension: 8192,
  // imgproxy's default; 50 MP decodes to ~200 MB of RGBA at most (JPEG shrink-on-load makes it less).
  // sharp's own 268 MP default would let one request take a gigabyte.
  maxInputPixels: 50_000_000,
  // Sticker/reaction GIFs rarely pass 100 frames; more is usually a bomb or a video in disguise.
  maxFrames: 200,
  // Keeps an animated decode near the single-frame budget above.
  maxAnimatedPixels: 100_000_000,
  // A full-resolution PNG of a 50 MP photo stays under this; anything bigger is not a web image.
  maxOutputBytes: 50 * 1024 * 1024,
  // A 50 MP AVIF encode takes ~4 s on one core here; 15 s only stops runaway work.
  timeoutSeconds: 15,
  allowSvg: true,
  // Phones shoot Display P3; clipping it to sRGB dulls exactly the photos people post.
  colour: 'keep-p3',
  encoders: DEFAULT_ENCODERS,
};
