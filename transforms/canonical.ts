/**
 * The canonical spec: one spelling per distinct output. `canonicalizeSpec` applies DPR, caps the
 * size, fills defaults and drops parameters that cannot change the result, so that requests
 * producing the same image share one variant. `serializeCanonical` is the only writer of the
 * string that variant keys and ETags are built from; `test/canonical.test.ts` pins its format.
 */
import { effectiveQuality, type FormatToken } from './formats.js';
import type { TransformLimits } from './limits.js';
import type { CropRegion, Fit, Flip, IndexCrop, OutputFormat, Position, QualityTable, Rotation, TransformSpec } from './spec.js';
import type { Watermark } from './watermark.js';

/** An explicit format, or `auto-<token>` when it was negotiated from the `Accept` header. */
export type FormatChoice = OutputFormat | `auto-${FormatToken}`;

export interface CanonicalSpec {
  /** Output box in device pixels (DPR applied, capped); absent sides follow the aspect ratio. */
  readonly width?: number;
  readonly height?: number;
  readonly fit: Fit;
  /** Only where it can matter: `cover`/`contain` with both sides set. */
  readonly position?: Position;
  readonly enlarge: boolean;
  readonly format: FormatChoice;
  /** Filled for explicit lossy formats; absent means "decided once the format is" (see `effectiveQuality`). */
  readonly quality?: number;
  /** A preset's qualities per format, kept only while the format is still to be negotiated. */
  readonly qualities?: QualityTable;
  /** Save-Data, kept only while the format is still to be negotiated (else folded into `quality`). */
  readonly saveData?: true;
  readonly rotate: Rotation;
  readonly flip?: Flip;
  readonly blur?: number;
  readonly sharpen?: number;
  readonly background?: string;
  readonly crop?: CropRegion;
  readonly indexCrop?: IndexCrop;
  readonly scalePercent?: number;
  readonly cornerRadius?: number;
  readonly circleRadius?: number;
  readonly brightness?: number;
  readonly contrast?: number;
  /** The watermark's full definition (not its name), so editing a watermark changes the key. */
  readonly watermark?: Watermark;
  readonly animated: boolean;
  /** Made the cheap way under load (see `economizeSpec`); a separate variant with its own key. */
  readonly economy?: true;
}

/** Bump when the meaning of a canonical spec changes, so stale variants are never reused. */
export const KEY_VERSION = 'v1';

export function canonicalizeSpec(spec: TransformSpec, token: FormatToken, limits: TransformLimits, watermark?: Watermark): CanonicalSpec {
  const box = scaleBox(spec.width, spec.height, spec.dpr, limits.maxOutputDimension);
  const bothSides = box.width !== undefined && box.height !== undefined;
  // With one side (or none) every fit keeps the aspect ratio, so they are all `inside`.
  const fit = bothSides ? spec.fit : 'inside';
  const negotiated = spec.format === 'auto';
  const format: FormatChoice = negotiated ? `auto-${token}` : spec.format;
  // An explicit format knows its quality now; a negotiated one keeps the inputs of that decision.
  const quality = negotiated ? spec.quality : effectiveQuality(spec.format, spec);
  const qualities = negotiated && spec.quality === undefined && spec.qualities && sortedTable(spec.qualities);
  return {
    ...box,
    fit,
    ...((fit === 'cover' || fit === 'contain') && { position: spec.position }),
    enlarge: box.width !== undefined || box.height !== undefined ? spec.enlarge : false,
    format,
    ...(quality !== undefined && { quality }),
    ...(qualities && { qualities }),
    ...(negotiated && spec.saveData && { saveData: true as const }),
    rotate: spec.rotate,
    ...(spec.flip && { flip: spec.flip }),
    ...(spec.blur !== undefined && { blur: spec.blur }),
    ...(spec.sharpen !== undefined && { sharpen: spec.sharpen }),
    ...(spec.background !== undefined && { background: spec.background }),
    ...(spec.crop && { crop: spec.crop }),
    ...(spec.indexCrop && { indexCrop: spec.indexCrop }),
    ...(spec.scalePercent !== undefined && { scalePercent: spec.scalePercent }),
    ...(spec.cornerRadius !== undefined && { cornerRadius: spec.cornerRadius }),
    ...(spec.circleRadius !== undefined && { circleRadius: spec.circleRadius }),
    ...(spec.brightness !== undefined && { brightness: spec.brightness }),
    ...(spec.contrast !== undefined && { contrast: spec.contrast }),
    ...(watermark && { watermark }),
    animated: spec.animated,
  };
}

/** Same table, keys in a fixed order, so equal tables serialize equally. */
function sortedTable(table: QualityTable): QualityTable {
  return Object.fromEntries(Object.entries(table).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The cheaper variant served under pressure: a negotiated AVIF becomes WebP (AVIF costs several
 * times more CPU), and every encoder uses its economy setting. Explicit formats are kept.
 */
export function economizeSpec(spec: CanonicalSpec): CanonicalSpec {
  return { ...spec, format: spec.format === 'auto-avif' ? 'auto-webp' : spec.format, economy: true };
}

/**
 * Multiplies the box by DPR, then shrinks both sides by one factor if either passes the cap,
 * so capping never changes the requested aspect ratio.
 */
function scaleBox(width: number | undefined, height: number | undefined, dpr: number, max: number) {
  const w = width === undefined ? undefined : width * dpr;
  const h = height === undefined ? undefined : height * dpr;
  const factor = Math.min(1, max / (w ?? 1), max / (h ?? 1));
  const side = (v: number | undefined) => (v === undefined ? undefined : Math.max(1, Math.round(v * factor)));
  const sw = side(w);
  const sh = side(h);
  return { ...(sw !== undefined && { width: sw }), ...(sh !== undefined && { height: sh }) };
}

/** Fixed field order and number formatting; absent optional fields are omitted. */
export function serializeCanonical(spec: CanonicalSpec): string {
  const fields: [string, string | number | undefined][] = [
    ['w', spec.width],
    ['h', spec.height],
    ['fit', spec.fit],
    ['pos', spec.position],
    ['enlarge', spec.enlarge ? 1 : 0],
    ['scale', spec.scalePercent],
    ['crop', spec.crop && `${spec.crop.x},${spec.crop.y},${spec.crop.width},${spec.crop.height}`],
    ['cropg', spec.crop?.gravity],
    ['icrop', spec.indexCrop && `${spec.indexCrop.axis},${spec.indexCrop.size},${spec.indexCrop.index}`],
    ['rot', spec.rotate],
    ['flip', spec.flip],
    ['round', spec.cornerRadius],
    ['circle', spec.circleRadius],
    ['blur', spec.blur],
    ['sharpen', spec.sharpen],
    ['bri', spec.brightness],
    ['con', spec.contrast],
    ['wm', spec.watermark && serializeWatermark(spec.watermark)],
    ['bg', spec.background],
    ['anim', spec.animated ? 1 : 0],
    ['fm', spec.format],
    ['q', spec.quality],
    ['qt', spec.qualities && Object.entries(spec.qualities).map(([format, q]) => `${format}:${q}`).join(',')],
    ['sd', spec.saveData && 1],
    ['eco', spec.economy && 1],
  ];
  return fields
    .filter((f): f is [string, string | number] => f[1] !== undefined)
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** Every field in a fixed order; text is percent-encoded so it cannot be mistaken for a separator. */
function serializeWatermark(mark: Watermark): string {
  const offset = mark.offset ? `${mark.offset.x}x${mark.offset.y}` : '';
  const common = [mark.gravity, mark.margin, offset, mark.opacity, mark.tile ? 1 : 0];
  const fields =
    mark.kind === 'image'
      ? ['image', encodeURIComponent(mark.key), mark.width, ...common]
      : ['text', encodeURIComponent(mark.text), encodeURIComponent(mark.font), mark.size, mark.sizePx ?? '', mark.color, mark.shadow ? 1 : 0, mark.rotate, ...common];
  return fields.join(':');
}
