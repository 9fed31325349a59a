/**
 * How much memory one transform needs at its peak, known before it runs: the load layer admits
 * transforms by this (origin/load/work-queue.ts), so that a few large AVIF encodes at once cannot
 * take the process past its memory budget. What dominates is the encoder's working memory, which
 * grows with the output's pixels; libvips streams the decode and resize in strips, and JPEG
 * shrink-on-load keeps the decode small.
 *
 * Peak RSS of one transform over the process before it, from a 4000x3000 JPEG (jemalloc, sharp
 * 0.35.5, three fresh processes each: `node dist/bench/transform-memory.js`, 2026-12-01), MiB:
 * - AVIF (effort 2, 8 bits): 640 px 0–8, 1080 px 5–18, 2048x1536 70–80, 4000x3000 347–355:
 *   about 30 bytes per output pixel. 10 bits add 40–70 MB at 2048 px (issue 15), about 40 bytes.
 * - WebP 2048 px 17–20, 4000x3000 55–66; JPEG (mozjpeg) 4000x3000 46–57; PNG 15–20: 1.5–5 bytes.
 */
import { DEFAULT_ENCODERS } from './formats.js';
import type { Size } from './geometry.js';
import { resizedSize } from './output-size.js';
import type { OutputFormat } from './params.js';
import type { TransformPlan } from './plan.js';
import type { SourceInfo } from './probe.js';

/** Encoder working memory per output pixel (the upper end of the measurements above). */
const BYTES_PER_OUTPUT_PIXEL: Readonly<Record<OutputFormat, number>> = {
  avif: 30,
  webp: 5,
  jpeg: 5,
  png: 2,
  gif: 5,
};
const AVIF_10_BIT_BYTES_PER_PIXEL = 40;
/** What any transform holds besides the encoder: strips of the decode, the output buffer. */
const BASE_BYTES = 4 * 1024 * 1024;
/** A quarter turn or a tilt makes libvips hold the whole decoded image (RGBA at worst). */
const HELD_IMAGE_BYTES_PER_PIXEL = 4;

/** Pixels libvips decodes: a JPEG shrinks on load by up to 8 while staying at least the output's size. */
function decodedPixels(source: SourceInfo, out: Size): number {
  const ratio = Math.min(source.width / out.width, source.height / out.height);
  const shrink = source.format === 'jpeg' ? [8, 4, 2].find((s) => s <= ratio) ?? 1 : 1;
  return (source.width / shrink) * (source.height / shrink);
}

/** The estimated peak memory, in bytes, of the transform `plan` describes for `source`. */
export function peakMemoryBytes(plan: TransformPlan, source: SourceInfo): number {
  const frames = plan.animated ? source.pages : 1;
  const out: Size = resizedSize(source, plan.resize);
  const { format } = plan.output;
  const tenBit = (plan.output.encoders ?? DEFAULT_ENCODERS).avifBitDepth === 10;
  const perPixel = format === 'avif' && tenBit ? AVIF_10_BIT_BYTES_PER_PIXEL : BYTES_PER_OUTPUT_PIXEL[format];
  const turned = plan.rotate !== 0 || plan.tilt !== undefined;
  // libheif decodes a HEIC whole before libvips sees it.
  const heldPixels = source.format === 'heic' ? source.width * source.height : turned ? decodedPixels(source, out) : 0;
  return BASE_BYTES + frames * (out.width * out.height * perPixel + heldPixels * HELD_IMAGE_BYTES_PER_PIXEL);
}
