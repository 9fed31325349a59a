/**
 * Watermarks: what one looks like (types shared by the preset file, the canonical spec and the
 * pipeline) and how it becomes an overlay for an output of a given size. Image watermarks are
 * scaled relative to the output width but never enlarged, so a logo stays crisp on small outputs;
 * text is rendered by Pango with the configured font family (a CJK-capable one by default, so
 * Chinese, Japanese and Korean never come out as boxes).
 */
import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import type { Gravity } from './spec.js';

interface Placement {
  /** Anchor of the mark on the output. */
  readonly gravity: Gravity;
  /** Distance from the anchored edges, as a share of the output width. */
  readonly margin: number;
  /** Distance from the anchored edges in pixels, horizontally and vertically (OSS `x_`, `y_`); wins over `margin`. */
  readonly offset?: { readonly x: number; readonly y: number };
  /** 0 (invisible) … 1 (opaque). */
  readonly opacity: number;
  /** Repeat the mark over the whole output instead of placing it once. */
  readonly tile: boolean;
}

export interface ImageWatermark extends Placement {
  readonly kind: 'image';
  /** Source key of the logo, fetched like any original. */
  readonly key: string;
  /** Width as a share of the output width (never more than the logo's own width). */
  readonly width: number;
}

export interface TextWatermark extends Placement {
  readonly kind: 'text';
  readonly text: string;
  /** Font family, resolved by fontconfig. */
  readonly font: string;
  /** Text height as a share of the output width. */
  readonly size: number;
  /** Text height in pixels (OSS `size_`); wins over `size`. */
  readonly sizePx?: number;
  /** `rrggbb`. */
  readonly color: string;
  readonly shadow: boolean;
  /** Degrees, clockwise. */
  readonly rotate: number;
}

export type Watermark = ImageWatermark | TextWatermark;

/** The family installed by the Dockerfile and CI (Debian's fonts-noto-cjk): Latin and CJK in one. */
export const DEFAULT_WATERMARK_FONT = 'Noto Sans CJK SC';

/** Smallest rendered text height: below it glyphs turn to mush. */
const MIN_TEXT_PX = 8;

/** One line of text for Pango markup: the five XML specials escaped, nothing else interpreted. */
function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Multiplies the alpha channel by `opacity`, in place. */
function fadeAlpha(rgba: Buffer, opacity: number): Buffer {
  if (opacity >= 1) return rgba;
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = Math.round(rgba[i]! * opacity);
  return rgba;
}

async function toRawOverlay(image: Sharp, opacity: number) {
  const { data, info } = await image.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { input: fadeAlpha(data, opacity), raw: { width: info.width, height: info.height, channels: 4 as const } };
}

async function renderText(mark: TextWatermark, outputWidth: number) {
  const px = Math.max(MIN_TEXT_PX, mark.sizePx ?? Math.round(outputWidth * mark.size));
  const markup = (color: string) => `<span foreground="#${color}">${escapeMarkup(mark.text)}</span>`;
  const render = (color: string) =>
    sharp({ text: { text: markup(color), font: `${mark.font} ${px}px`, rgba: true, dpi: 72 } }).png().toBuffer({ resolveWithObject: true });
  const text = await render(mark.color);
  let image = sharp(text.data);
  if (mark.shadow) {
    // A dark copy one-twelfth of the text height down and right keeps the text legible on light photos.
    const offset = Math.max(1, Math.round(px / 12));
    const shadow = await render('000000');
    image = sharp({
      create: { width: text.info.width + offset, height: text.info.height + offset, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    }).composite([
      { input: shadow.data, left: offset, top: offset },
      { input: text.data, left: 0, top: 0 },
    ]);
    image = sharp(await image.png().toBuffer());
  }
  if (mark.rotate % 360 !== 0) image = sharp(await image.rotate(mark.rotate, { background: { r: 0, g: 0, b: 0, alpha: 0 } }).png().toBuffer());
  return image;
}

async function renderImage(mark: ImageWatermark, logo: Buffer, outputWidth: number) {
  const { width = 1 } = await sharp(logo).metadata();
  // Scaled down to its share of the output, never up: an enlarged logo would be blurred.
  const target = Math.max(1, Math.min(width, Math.round(outputWidth * mark.width)));
  return sharp(logo, { autoOrient: true }).resize({ width: target, withoutEnlargement: true });
}

/**
 * The composite operation for `mark` on an output of `width`×`height`. `logo` holds the image
 * watermark's bytes (ignored for text). A mark larger than the output is shrunk to fit.
 */
export async function watermarkOverlay(mark: Watermark, logo: Buffer | undefined, width: number, height: number): Promise<OverlayOptions> {
  if (mark.kind === 'image' && !logo) throw new Error('image watermark without its logo bytes');
  let image = mark.kind === 'text' ? await renderText(mark, width) : await renderImage(mark, logo!, width);
  const margin = mark.offset ?? { x: Math.round(width * mark.margin), y: Math.round(width * mark.margin) };
  const meta = await sharp(await image.png().toBuffer()).metadata();
  const room = { width: Math.max(1, width - 2 * margin.x), height: Math.max(1, height - 2 * margin.y) };
  if (meta.width > room.width || meta.height > room.height) {
    image = sharp(await image.png().toBuffer()).resize({ ...room, fit: 'inside' });
  }
  const overlay = await toRawOverlay(image, mark.opacity);
  if (mark.tile) return { ...overlay, tile: true, gravity: 'northwest' };
  const { left, top } = anchor(mark.gravity, width, height, overlay.raw.width, overlay.raw.height, margin);
  return { ...overlay, left, top };
}

/** Top-left corner of a `w`×`h` mark anchored at `gravity`, `margin` pixels in from the anchored edges. */
export function anchor(gravity: Gravity, width: number, height: number, w: number, h: number, margin: { x: number; y: number }) {
  const x = gravity.endsWith('w') ? margin.x : gravity.endsWith('e') ? width - w - margin.x : Math.round((width - w) / 2);
  const y = gravity.startsWith('n') ? margin.y : gravity.startsWith('s') ? height - h - margin.y : Math.round((height - h) / 2);
  return { left: Math.max(0, x), top: Math.max(0, y) };
}


/** The style of free text (`wmt=`) when no named text watermark is given. */
export const DEFAULT_TEXT_STYLE: Omit<TextWatermark, 'text'> = {
  kind: 'text',
  font: DEFAULT_WATERMARK_FONT,
  size: 0.04,
  color: 'ffffff',
  shadow: true,
  rotate: 0,
  gravity: 'se',
  margin: 0.02,
  opacity: 0.6,
  tile: false,
};
