/**
 * What a watermark is: the definition shared by the preset file, the OSS dialect, the canonical
 * spec (which serializes it whole, so editing a watermark changes its variants) and the pipeline's
 * watermark step (`steps/watermark-overlay.ts`), which renders it.
 */
import type { Gravity } from './params.js';

export interface Placement {
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
  /**
   * The key came from the URL (OSS `image_`), so a missing logo is the client's mistake; otherwise
   * it is the operator's. Not part of the variant key: it does not change the pixels.
   */
  readonly fromRequest?: true;
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

/** A logo or a text without a placement of its own: one side of a row watermark. */
export type RowPart = Omit<ImageWatermark, keyof Placement> | Omit<TextWatermark, keyof Placement>;

/**
 * A logo and a text side by side, placed as one mark (OSS's mixed watermark: `order_`, `align_`,
 * `interval_`): the "logo + @username" stamp in one piece.
 */
export interface RowWatermark extends Placement {
  readonly kind: 'row';
  /** Left to right: `[image, text]` (OSS order_0) or `[text, image]` (order_1). */
  readonly parts: readonly [RowPart, RowPart];
  /** Where the shorter part sits against the taller one. */
  readonly align: 'top' | 'middle' | 'bottom';
  /** Pixels between the two parts. */
  readonly interval: number;
}

export type Watermark = ImageWatermark | TextWatermark | RowWatermark;

/** The family installed by the Dockerfile and CI (Debian's fonts-noto-cjk): Latin and CJK in one. */
export const DEFAULT_WATERMARK_FONT = 'Noto Sans CJK SC';

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

/**
 * One watermark, or several stamped in this order (OSS allows up to three per request, "logo +
 * @username"); at most one of them is an image watermark (one logo is fetched per variant).
 */
export type Watermarks = Watermark | readonly Watermark[];

export const MAX_WATERMARKS = 3;

export function watermarkList(marks: Watermarks): readonly Watermark[] {
  return 'kind' in marks ? [marks] : marks;
}

/** A list of one is that one watermark, so it has the key a single watermark always had. */
export function oneOrList(marks: Watermarks): Watermarks {
  const list = watermarkList(marks);
  return list.length === 1 && list[0] ? list[0] : list;
}

/** The watermark when there is exactly one. */
export function singleWatermark(marks: Watermarks | undefined): Watermark | undefined {
  const list = marks === undefined ? [] : watermarkList(marks);
  return list.length === 1 ? list[0] : undefined;
}

/** The logo among `marks` (an image watermark's, or a row's image part), if any. */
export function logoMark(marks: Watermarks | undefined): Pick<ImageWatermark, 'key' | 'fromRequest'> | undefined {
  if (marks === undefined) return undefined;
  for (const mark of watermarkList(marks)) {
    if (mark.kind === 'image') return mark;
    if (mark.kind === 'row') {
      const image = mark.parts.find((p) => p.kind === 'image');
      if (image) return image;
    }
  }
  return undefined;
}

/** Whether `mark` prints text (a text watermark, or a row with a text part). */
export function hasText(mark: Watermark): boolean {
  return mark.kind === 'text' || (mark.kind === 'row' && mark.parts.some((p) => p.kind === 'text'));
}

/**
 * One watermark as `serializeWatermark` always wrote it (existing keys do not change); several
 * as `list|<n>|<first>|<second>…`: a single one starts with `image:` or `text:`, and `|` never
 * occurs inside one (text and keys are percent-encoded), so a list cannot collide with anything.
 */
export function serializeWatermarks(marks: Watermarks): string {
  const list = watermarkList(marks);
  const [only] = list;
  if (list.length === 1 && only) return serializeWatermark(only);
  return ['list', list.length, ...list.map(serializeWatermark)].join('|');
}

/** Every field in a fixed order; text is percent-encoded so it cannot be mistaken for a separator. */
export function serializeWatermark(mark: Watermark): string {
  const offset = mark.offset ? `${mark.offset.x}x${mark.offset.y}` : '';
  const common = [mark.gravity, mark.margin, offset, mark.opacity, mark.tile ? 1 : 0];
  if (mark.kind === 'row') {
    // Each part percent-encoded whole, so its `:` cannot be read as the row's.
    const parts = mark.parts.map((p) => encodeURIComponent(bodyFields(p).join(':')));
    return ['row', mark.align, mark.interval, ...parts, ...common].join(':');
  }
  return [...bodyFields(mark), ...common].join(':');
}

function bodyFields(mark: RowPart): (string | number)[] {
  return mark.kind === 'image'
    ? ['image', encodeURIComponent(mark.key), mark.width]
    : ['text', encodeURIComponent(mark.text), encodeURIComponent(mark.font), mark.size, mark.sizePx ?? '', mark.color, mark.shadow ? 1 : 0, mark.rotate];
}
