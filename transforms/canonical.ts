/**
 * The canonical spec: one spelling per distinct output. `canonicalizeSpec` applies DPR (the only
 * place it is applied), caps the size, fills defaults, decides the quality of explicit formats and
 * drops parameters that cannot change the result, so that requests producing the same image share
 * one variant. `serializeCanonical` is the only writer of the string that variant keys and ETags
 * are built from; `test/canonical.test.ts` pins its format.
 */
import { DEFAULT_QUALITY_TARGET, fixedQuality, isDefaultEncoders, isLossy, saveDataQuality, type EncoderChoice, type FormatToken, type QualityTable } from './formats.js';
import type { TransformLimits } from './limits.js';
import { PARAM_NAMES, PARAMS, spell, type Fit, type OutputFormat, type ParamName, type Position, type RequestedSpec, type Rotation } from './params.js';
import { oneOrList, serializeWatermarks, type Watermarks } from './watermark.js';

/** An explicit format, or `auto-<token>` when it was negotiated from the `Accept` header. */
export type FormatChoice = OutputFormat | `auto-${FormatToken}`;

/** Parameters canonicalization rewrites; every other parameter is copied as the client sent it. */
type Rewritten = 'w' | 'h' | 'dpr' | 'fit' | 'pos' | 'enlarge' | 'rot' | 'anim' | 'fm' | 'q' | 'wm' | 'wmt';

export type CanonicalSpec = Omit<RequestedSpec, Rewritten> & {
  /** Output box in device pixels (DPR applied, capped); absent sides follow the aspect ratio. */
  readonly w?: number;
  readonly h?: number;
  readonly fit: Fit;
  /** Only where it can matter: `cover`/`contain` with both sides set. */
  readonly pos?: Position;
  readonly enlarge: boolean;
  readonly rot: Rotation;
  readonly anim: boolean;
  readonly fm: FormatChoice;
  /**
   * A fixed quality: the client's own `q`, or for an explicit format the preset's, with Save-Data
   * folded in. Otherwise the quality is chosen per image to meet `tq`.
   */
  readonly q?: number;
  /** A preset's qualities per format, kept only while the format is still to be negotiated. */
  readonly qt?: QualityTable;
  /**
   * The quality target (a SSIMULACRA2 score) when no quality is fixed. The key names the target,
   * not the quality each image needs for it: that is decided from the source, once per version.
   */
  readonly tq?: number;
  /** The quality for `tq` is measured on the image itself (autoquality), not taken from the calibration. */
  readonly aq?: true;
  /** Save-Data, kept while the quality is still to be chosen (else folded into `q`). */
  readonly sd?: true;
  /** Made the cheap way under load (see `economizeSpec`); a separate variant with its own key. */
  readonly eco?: true;
  /** The watermarks' full definitions (not names), so editing a watermark changes the key; one is kept as itself. */
  readonly wm?: Watermarks;
  /**
   * `ORIGIN_COLOUR=srgb`: every output plain sRGB. Absent means `keep-p3` (the default), so the
   * default's keys are the keys variants had before wide gamut was kept (no cache cold start).
   */
  readonly colour?: 'srgb';
  /** The operator's encoder settings when not the defaults (ORIGIN_JPEG_ENCODER, ORIGIN_WEBP_EFFORT, ORIGIN_AVIF_EFFORT): other bytes, another key. */
  readonly enc?: EncoderChoice;
};

/** What the request's context adds to its parameters: hints, the format token, the preset, the watermark. */
export interface RequestContext {
  readonly token: FormatToken;
  /** The DPR to apply: the request's, or the snapped `Sec-CH-DPR` for `dpr=auto`. */
  readonly dpr: number;
  /** `w=auto` resolved from client hints, already in device pixels. */
  readonly deviceWidth?: number;
  readonly saveData?: boolean;
  readonly qualities?: QualityTable;
  /** The preset's quality target, else ORIGIN_QUALITY_TARGET; DEFAULT_QUALITY_TARGET when absent. */
  readonly qualityTarget?: number;
  /** Whether the target is met per image (ORIGIN_AUTOQUALITY, or the preset's `autoQuality`). */
  readonly autoQuality?: boolean;
  readonly watermark?: Watermarks;
}

/**
 * Bump when the meaning of a canonical spec changes, so stale variants are never reused: also when
 * the encoder settings or the calibration behind a quality target change (v3: 2026-12-01).
 */
export const KEY_VERSION = 'v3';

export function canonicalizeSpec(requested: RequestedSpec, context: RequestContext, limits: TransformLimits): CanonicalSpec {
  const { w, h, dpr: _dpr, fit, pos, enlarge, rot, anim, fm, q, wm: _wm, wmt: _wmt, ...copied } = requested;
  if (w === 'auto' && context.deviceWidth === undefined) throw new Error('w=auto needs the client hints resolved first');
  const width = w === 'auto' ? context.deviceWidth : w === undefined ? undefined : w * context.dpr;
  const box = capBox(width, h === undefined ? undefined : h * context.dpr, limits.maxOutputDimension);
  const bothSides = box.w !== undefined && box.h !== undefined;
  // With one side (or none) every fit keeps the aspect ratio, so they are all `inside`.
  const canonicalFit = bothSides ? (fit ?? 'inside') : 'inside';
  const format = fm ?? 'auto';
  const negotiated = format === 'auto';
  const lossy = negotiated || isLossy(format);
  const fixed = negotiated ? q : fixedQuality(format, { q, qt: context.qualities });
  const quality = fixed !== undefined && !negotiated && context.saveData ? saveDataQuality(fixed) : fixed;
  const qualities = negotiated && q === undefined && context.qualities && sortedTable(context.qualities);
  const target = lossy && fixed === undefined ? (context.qualityTarget ?? DEFAULT_QUALITY_TARGET) : undefined;
  const saveData = context.saveData === true && lossy && (negotiated || fixed === undefined);
  return {
    ...box,
    fit: canonicalFit,
    ...((canonicalFit === 'cover' || canonicalFit === 'contain') && { pos: pos ?? 'center' }),
    // Enlarging needs a target: a box, or a scale above 100 (below it, enlarge changes nothing).
    enlarge: box.w !== undefined || box.h !== undefined || (copied.scale ?? 0) > 100 ? (enlarge ?? false) : false,
    ...withoutNeutral(withoutIdleBackground(copied, format, canonicalFit, rot ?? 0)),
    rot: rot ?? 0,
    anim: anim ?? false,
    fm: negotiated ? `auto-${context.token}` : format,
    ...(quality !== undefined && { q: quality }),
    ...(qualities && { qt: qualities }),
    ...(target !== undefined && { tq: target }),
    ...(target !== undefined && context.autoQuality === true && { aq: true as const }),
    ...(saveData && { sd: true as const }),
    ...(context.watermark && { wm: oneOrList(context.watermark) }),
    ...(limits.colour === 'srgb' && { colour: 'srgb' as const }),
    ...(!isDefaultEncoders(limits.encoders) && { enc: limits.encoders }),
  };
}

/**
 * `bg` pads `fit=contain`, fills the corners of a `rot` by other than a quarter turn, and is what
 * JPEG flattens alpha onto (and, for a negotiated format, decides between PNG and JPEG): with an
 * explicit PNG, WebP, AVIF or GIF, no `contain` and no such turn it cannot change a pixel,
 * whatever the source, so it leaves the key.
 */
function withoutIdleBackground<T extends { readonly bg?: string }>(values: T, format: OutputFormat | 'auto', fit: Fit, rot: number): T {
  // A turn by other than a quarter fills the grown canvas with it.
  if (values.bg === undefined || format === 'auto' || format === 'jpeg' || fit === 'contain' || rot % 90 !== 0) return values;
  const { bg: _bg, ...rest } = values;
  return rest as T;
}

/** Drops values that change nothing (`bri=0`, `cropg=nw`), so they cannot make a second variant. */
function withoutNeutral<T extends Partial<Record<ParamName, unknown>>>(values: T): T {
  const kept = Object.entries(values).filter(([name, value]) => value !== undefined && value !== PARAMS[name as ParamName].neutral);
  return Object.fromEntries(kept) as T;
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
  return { ...spec, fm: spec.fm === 'auto-avif' ? 'auto-webp' : spec.fm, eco: true };
}

/** Shrinks both sides by one factor if either passes the cap, so capping keeps the aspect ratio. */
function capBox(width: number | undefined, height: number | undefined, max: number): { w?: number; h?: number } {
  const factor = Math.min(1, max / (width ?? 1), max / (height ?? 1));
  const side = (v: number) => Math.max(1, Math.round(v * factor));
  return { ...(width !== undefined && { w: side(width) }), ...(height !== undefined && { h: side(height) }) };
}

/** Fields that are not query parameters, written after them in this order. */
const EXTRA_FIELDS = ['qt', 'tq', 'aq', 'sd', 'eco', 'colour', 'enc'] as const;

/** Table order, then the extra fields; absent fields are omitted. */
export function serializeCanonical(spec: CanonicalSpec): string {
  const fields: string[] = [];
  const values: Partial<Record<string, unknown>> = spec;
  for (const name of [...PARAM_NAMES, ...EXTRA_FIELDS]) {
    const value = values[name];
    if (value !== undefined) fields.push(`${name}=${writeField(name, value)}`);
  }
  return fields.join('&');
}

function writeField(name: string, value: unknown): string {
  if (name === 'wm') return serializeWatermarks(value as Watermarks);
  if (name === 'qt') return Object.entries(value as QualityTable).map(([format, q]) => `${format}:${q}`).join(',');
  if (name === 'enc') {
    const { jpeg, webpEffort, avifEffort, avifBitDepth } = value as EncoderChoice;
    return `jpeg:${jpeg},webp:${webpEffort},avif:${avifEffort},avifbits:${avifBitDepth}`;
  }
  return spell(value as Parameters<typeof spell>[0]);
}
