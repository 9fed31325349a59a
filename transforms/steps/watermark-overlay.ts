/**
 * The watermark step's rendering: a watermark definition becomes a composite overlay for an output
 * of a given size. Image watermarks are scaled relative to the output width but never enlarged, so
 * a logo stays crisp on small outputs; text is rendered by Pango with the configured font family
 * (a CJK-capable one by default, so Chinese, Japanese and Korean never come out as boxes).
 */
import type { OverlayOptions, Sharp } from 'sharp';
import { sharp } from '../sharp.js';
import { anchor } from '../geometry.js';
import type { ImageWatermark, RowPart, RowWatermark, TextWatermark, Watermark } from '../watermark.js';

type TextBody = Extract<RowPart, { kind: 'text' }>;
type ImageBody = Extract<RowPart, { kind: 'image' }>;

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

async function renderText(mark: TextWatermark | TextBody, outputWidth: number) {
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

async function renderImage(mark: ImageWatermark | ImageBody, logo: Buffer, outputWidth: number) {
  const { width = 1 } = await sharp(logo).metadata();
  // Scaled down to its share of the output, never up: an enlarged logo would be blurred.
  const target = Math.max(1, Math.min(width, Math.round(outputWidth * mark.width)));
  return sharp(logo, { autoOrient: true }).resize({ width: target, withoutEnlargement: true });
}

/**
 * The composite operation for `mark` on an output of `width`×`height`. `logo` holds the image
 * watermark's bytes (ignored for text). A mark larger than the output is shrunk to fit.
 */
function renderBody(mark: RowPart, logo: Buffer | undefined, outputWidth: number): Promise<Sharp> {
  if (mark.kind === 'text') return renderText(mark, outputWidth);
  if (!logo) throw new Error('image watermark without its logo bytes');
  return renderImage(mark, logo, outputWidth);
}

/** The two parts side by side, `interval` px apart, the shorter aligned against the taller. */
async function renderRow(mark: RowWatermark, logo: Buffer | undefined, outputWidth: number): Promise<Sharp> {
  const [first, second] = await Promise.all(
    mark.parts.map(async (part) => {
      const { data, info } = await (await renderBody(part, logo, outputWidth)).ensureAlpha().png().toBuffer({ resolveWithObject: true });
      return { data, width: info.width, height: info.height };
    }),
  );
  if (!first || !second) throw new Error('a row watermark has two parts');
  const height = Math.max(first.height, second.height);
  const top = (h: number) => (mark.align === 'top' ? 0 : mark.align === 'bottom' ? height - h : Math.floor((height - h) / 2));
  const row = sharp({ create: { width: first.width + mark.interval + second.width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([
      { input: first.data, left: 0, top: top(first.height) },
      { input: second.data, left: first.width + mark.interval, top: top(second.height) },
    ]);
  return sharp(await row.png().toBuffer());
}

export async function watermarkOverlay(mark: Watermark, logo: Buffer | undefined, width: number, height: number): Promise<OverlayOptions> {
  let image: Sharp = mark.kind === 'row' ? await renderRow(mark, logo, width) : await renderBody(mark, logo, width);
  const margin = mark.offset ?? { x: Math.round(width * mark.margin), y: Math.round(width * mark.margin) };
  const meta = await sharp(await image.png().toBuffer()).metadata();
  const room = { width: Math.max(1, width - 2 * margin.x), height: Math.max(1, height - 2 * margin.y) };
  if (meta.width > room.width || meta.height > room.height) {
    image = sharp(await image.png().toBuffer()).resize({ ...room, fit: 'inside' });
  }
  const overlay = await toRawOverlay(image, mark.opacity);
  if (mark.tile) return { ...overlay, tile: true, gravity: 'northwest' };
  const { left, top } = anchor(mark.gravity, { width, height }, overlay.raw, margin);
  return { ...overlay, left, top };
}
