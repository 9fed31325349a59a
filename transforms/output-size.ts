/**
 * How large the output will be, decided before any pixel is touched: the resize box that keeps
 * both output sides within the cap (one factor for both, so the aspect ratio holds), the largest
 * size a resize can produce, and the largest side each encoder can write. Long images (a
 * 300×20000 screenshot) pass WebP's and AVIF's limits long before JPEG's.
 */
import { InvalidRequestError } from './errors.js';
import type { Size } from './geometry.js';
import type { Fit, OutputFormat } from './params.js';

/**
 * Largest side each encoder writes, checked by encoding with sharp 0.35.5: libwebp refuses 16384,
 * libheif (AVIF) refuses 16385; JPEG and GIF store sides in 16 bits; libvips' PNG writer takes more
 * than any cap allows.
 */
export const MAX_FORMAT_SIDE: Readonly<Record<OutputFormat, number>> = {
  webp: 16383,
  avif: 16384,
  jpeg: 65535,
  gif: 65535,
  png: 10_000_000,
};

export interface ResizeBox {
  readonly width?: number;
  readonly height?: number;
  readonly fit: Fit;
  readonly withoutEnlargement: boolean;
}

/**
 * The size a resize of `before` into `box` yields. For `cover`, `contain` and `fill` it is the box
 * (an upper bound when enlargement is refused); for `inside`, `outside` and one side the factor
 * follows the aspect ratio, at most 1 without enlargement.
 */
export function resizedSize(before: Size, box: ResizeBox | undefined): Size {
  if (!box) return before;
  const { width, height, fit } = box;
  if (width !== undefined && height !== undefined && (fit === 'cover' || fit === 'contain' || fit === 'fill')) return { width, height };
  const factors = [width === undefined ? undefined : width / before.width, height === undefined ? undefined : height / before.height].filter(
    (f): f is number => f !== undefined,
  );
  const wanted = fit === 'outside' ? Math.max(...factors) : Math.min(...factors);
  const factor = box.withoutEnlargement ? Math.min(1, wanted) : wanted;
  return { width: Math.max(1, Math.round(before.width * factor)), height: Math.max(1, Math.round(before.height * factor)) };
}

/**
 * The box itself when its result stays within `max` on both sides; otherwise the `max`×`max`
 * `inside` box, which scales both sides by the one factor that brings the long side to `max`.
 */
export function cappedBox<T extends ResizeBox>(before: Size, box: T, max: number): T {
  const out = resizedSize(before, box);
  if (out.width <= max && out.height <= max) return box;
  return { ...box, width: max, height: max, fit: 'inside' };
}

/**
 * The format to write `size` in. A negotiated format that cannot hold it gives way to JPEG (PNG
 * when the image has alpha); an explicit one is refused, naming its limit.
 */
export function formatForSize(format: OutputFormat, negotiated: boolean, size: Size, hasAlpha: boolean): OutputFormat {
  const max = MAX_FORMAT_SIDE[format];
  if (size.width <= max && size.height <= max) return format;
  if (!negotiated) {
    throw new InvalidRequestError([
      { param: 'fm', message: `${format} holds at most ${max} pixels a side; the output would be ${size.width}x${size.height}` },
    ]);
  }
  return hasAlpha || size.width > MAX_FORMAT_SIDE.jpeg || size.height > MAX_FORMAT_SIDE.jpeg ? 'png' : 'jpeg';
}
