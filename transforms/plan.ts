/**
 * Decides, without touching pixels, what the pipeline will do to one source for one canonical
 * spec: the concrete output format, whether animation survives, the crop, the resize box and the
 * colours. Pure and synchronous, so the interesting rules are tested with plain objects.
 */
import { fixedQuality, isLossy, qualityFor, type EncoderChoice } from './formats.js';
import { InvalidRequestError, UnprocessableImageError } from './errors.js';
import type { CanonicalSpec } from './canonical.js';
import { limitAspect } from './aspect.js';
import { cappedBox, formatForSize, resizedSize } from './output-size.js';
import { fitWithin, mirrorRegion, rotateRegion, turnedCanvas, type Region, type Size } from './geometry.js';
import type { TransformLimits } from './limits.js';
import type { CropBox, Fit, Gravity, IndexCrop, OutputFormat, Position, QuarterTurn } from './params.js';
import type { SourceInfo } from './probe.js';
import type { InputFormat } from './sniff-format.js';
import type { Watermarks } from './watermark.js';

export interface Rgba {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  readonly alpha: number;
}

export interface TransformPlan {
  /** Decode every frame and keep the animation. */
  readonly animated: boolean;
  /** SVG rasterization density (dpi), raised when a vector source is enlarged. */
  readonly density?: number;
  /**
   * Region to extract, clamped, in the coordinates sharp extracts from: the upright original, or
   * the mirrored and rotated original when rotating (sharp then rotates before extracting).
   */
  readonly crop?: Region;
  /** Clockwise quarter turn, after the mirrors below. */
  readonly rotate: QuarterTurn;
  /**
   * Any other angle (clockwise degrees): the cropped image is turned on a canvas that holds it,
   * filled with `background`, before the mirrors and the resize (a pass of its own: sharp would
   * turn it after the resize).
   */
  readonly tilt?: { readonly angle: number; readonly background: Rgba };
  /**
   * Mirrors in the order sharp applies them: before the rotation. `flip=h` after a quarter turn
   * is a top-bottom mirror before it, so the axes swap for 90 and 270.
   */
  readonly mirrorLeftRight: boolean;
  readonly mirrorTopBottom: boolean;
  readonly resize?: {
    readonly width?: number;
    readonly height?: number;
    readonly fit: Fit;
    readonly position: Position;
    readonly withoutEnlargement: boolean;
    readonly background: Rgba;
  };
  readonly blur?: number;
  readonly sharpen?: number;
  /**
   * Work that needs the resized image's size (masks, watermarks) or sRGB pixels (levels): done in
   * a second pass over the first pass's raw output.
   */
  readonly finish?: {
    readonly mask?: { readonly shape: 'circle' | 'round'; readonly radius: number };
    /** Per colour channel: `multiply * value + add`. */
    readonly levels?: { readonly multiply: number; readonly add: number };
    readonly watermark?: Watermarks;
  };
  /** Nothing made the image transparent: the finishing pass drops the alpha it works with. */
  readonly opaque?: true;
  /** Set when the output cannot hold alpha but the image has some. */
  readonly flatten?: Rgba;
  readonly output: {
    readonly format: OutputFormat;
    /** The quality to encode at: fixed, or the calibrated guess for the target until the image's own is known. */
    readonly quality?: number;
    /** Set when the quality is to meet this target: the pipeline may ask the image what it needs. */
    readonly target?: number;
    readonly economy: boolean;
    /** Keep the source's wide gamut: convert to and attach libvips' compact Display P3 profile. */
    readonly p3?: true;
    /** Keep the source's Ultra HDR gain map, resized with the image (JPEG to JPEG only). */
    readonly gainMap?: true;
    /** The operator's encoder settings, when not the defaults. */
    readonly encoders?: EncoderChoice;
  };
}

const WHITE: Rgba = { r: 255, g: 255, b: 255, alpha: 1 };
const TRANSPARENT: Rgba = { r: 0, g: 0, b: 0, alpha: 0 };
/** libvips' nominal SVG density; a vector source's intrinsic size is measured at it. */
const SVG_BASE_DENSITY = 72;
const ANIMATABLE_INPUTS: ReadonlySet<InputFormat> = new Set(['gif', 'webp']);
const ANIMATABLE_OUTPUTS: ReadonlySet<OutputFormat> = new Set(['gif', 'webp']);
/** Formats that carry an ICC profile; GIF has none, so it is always sRGB. */
const PROFILED_OUTPUTS: ReadonlySet<OutputFormat> = new Set(['jpeg', 'webp', 'avif', 'png']);

export function planTransform(spec: CanonicalSpec, source: SourceInfo, limits: TransformLimits): TransformPlan {
  const finish = planFinish(spec);
  // Quarter turns and the finishing pass run frame by frame (`animated-frames.ts`), so every
  // operation keeps an animation.
  // libvips turns a multi-frame image only by quarter turns: other angles get frame one.
  const tiltAngle = spec.rot % 90 === 0 ? undefined : spec.rot;
  const turn = (tiltAngle === undefined ? spec.rot : 0) as QuarterTurn;
  const wantsAnimation = spec.anim && source.pages > 1 && ANIMATABLE_INPUTS.has(source.format) && tiltAngle === undefined;

  const quarterTurn = turn % 180 !== 0;
  const mirrorLeftRight = quarterTurn ? spec.flip === 'v' || spec.flip === 'hv' : spec.flip === 'h' || spec.flip === 'hv';
  const mirrorTopBottom = quarterTurn ? spec.flip === 'h' || spec.flip === 'hv' : spec.flip === 'v' || spec.flip === 'hv';
  const cut = spec.crop ? clampCrop(spec.crop, spec.cropg, source) : spec.icrop && indexRegion(spec.icrop, source);
  // `maxar` trims what `crop`/`icrop` kept, in the upright original, before any rotation.
  const whole = cut ?? { left: 0, top: 0, width: source.width, height: source.height };
  const limited = spec.maxar ? limitAspect(whole, spec.maxar) : whole;
  const region = limited === whole ? cut : limited;
  // Without a rotation sharp crops the upright image and mirrors afterwards, as the spec reads.
  const crop =
    region && turn !== 0
      ? rotateRegion(mirrorRegion(region, source, mirrorLeftRight, mirrorTopBottom), source, turn)
      : region;
  const base = region ?? source;
  // The size the image has when it reaches resize: cropped, then rotated.
  const before = tiltAngle !== undefined
    ? turnedCanvas(base, tiltAngle)
    : quarterTurn ? { width: base.height, height: base.width } : { width: base.width, height: base.height };

  const padding = spec.bg !== undefined ? parseHexColour(spec.bg) : source.hasAlpha ? TRANSPARENT : WHITE;
  const resize = planResize(spec, before, limits, padding);
  const gainsAlpha =
    (resize?.fit === 'contain' && padding.alpha < 1) || finish?.mask !== undefined || (tiltAngle !== undefined && padding.alpha < 1);
  const negotiated = spec.fm.startsWith('auto-');
  const format = formatForSize(resolveFormat(spec, source, wantsAnimation), negotiated, resizedSize(before, resize), source.hasAlpha || gainsAlpha);
  const animated = wantsAnimation && ANIMATABLE_OUTPUTS.has(format);
  if (animated) assertAnimationWithinLimits(source, limits);
  const flatten =
    format === 'jpeg' && (source.hasAlpha || gainsAlpha)
      ? spec.bg !== undefined ? { ...parseHexColour(spec.bg), alpha: 1 } : WHITE
      : undefined;
  const quality = qualityFor(format, spec);
  const keepsColour = spec.colour !== 'srgb' && !animated;
  const p3 = keepsColour && source.wideGamut === true && PROFILED_OUTPUTS.has(format);
  // sharp keeps a gain map through crops, resizes, quarter turns, mirrors, blur and sharpen (resized
  // with the image), only from JPEG to JPEG, and refuses it with `sat` (modulate), the
  // entropy/attention crops and the raw finishing pass: there, and in other formats, it is dropped.
  const gainMap =
    keepsColour && source.gainMap === true && source.format === 'jpeg' && format === 'jpeg' && !finish && tiltAngle === undefined &&
    spec.sat === undefined && spec.pos !== 'entropy' && spec.pos !== 'attention';
  const target = isLossy(format) && fixedQuality(format, spec) === undefined ? spec.tq : undefined;

  return {
    animated,
    ...(source.format === 'svg' && { density: svgDensity(spec, before, limits) }),
    ...(crop && { crop }),
    rotate: turn,
    ...(tiltAngle !== undefined && { tilt: { angle: tiltAngle, background: padding } }),
    mirrorLeftRight,
    mirrorTopBottom,
    ...(resize && { resize }),
    ...(spec.blur !== undefined && { blur: spec.blur }),
    ...(spec.sharpen !== undefined && { sharpen: spec.sharpen }),
    ...(finish && { finish }),
    ...(flatten && { flatten }),
    ...(!source.hasAlpha && !gainsAlpha && { opaque: true as const }),
    output: {
      format,
      ...(quality !== undefined && { quality }),
      ...(target !== undefined && { target }),
      economy: spec.eco === true,
      ...(p3 && { p3: true as const }),
      ...(gainMap && { gainMap: true as const }),
      ...(spec.enc && { encoders: spec.enc }),
    },
  };
}

/** Negotiated tokens become a concrete format once the source's alpha and animation are known. */
function resolveFormat(spec: CanonicalSpec, source: SourceInfo, wantsAnimation: boolean): OutputFormat {
  switch (spec.fm) {
    case 'auto-avif':
      // AVIF output cannot animate here; WebP can, and every AVIF-capable browser takes WebP.
      return wantsAnimation ? 'webp' : 'avif';
    case 'auto-webp':
      return 'webp';
    case 'auto-legacy':
      if (wantsAnimation) return 'gif';
      return source.hasAlpha || hasMask(spec) || (spec.bg !== undefined && parseHexColour(spec.bg).alpha < 1)
        ? 'png'
        : 'jpeg';
    default:
      return spec.fm;
  }
}

function assertAnimationWithinLimits(source: SourceInfo, limits: TransformLimits): void {
  if (source.pages > limits.maxFrames) {
    throw new UnprocessableImageError('IMAGE_TOO_LARGE', `animation has ${source.pages} frames, the limit is ${limits.maxFrames}`);
  }
  if (source.width * source.height * source.pages > limits.maxAnimatedPixels) {
    throw new UnprocessableImageError('IMAGE_TOO_LARGE', `animation exceeds ${limits.maxAnimatedPixels} pixels in all frames`);
  }
}

/** The asked region, placed by its anchor, then cut to the image: a part outside is dropped, never shifted in. */
function clampCrop([x, y, w, h]: CropBox, gravity: Gravity = 'nw', source: SourceInfo): Region {
  const left = cropStart(source.width, w, x, gravity.endsWith('w'), gravity.endsWith('e'));
  const top = cropStart(source.height, h, y, gravity.startsWith('n'), gravity.startsWith('s'));
  const [from, to] = [Math.max(0, left), Math.min(source.width, left + w)];
  const [fromTop, toBottom] = [Math.max(0, top), Math.min(source.height, top + h)];
  if (to - from < 1 || toBottom - fromTop < 1) {
    throw new InvalidRequestError([{ param: 'crop', message: `region lies outside the ${source.width}x${source.height} image` }]);
  }
  return { left: from, top: fromTop, width: to - from, height: toBottom - fromTop };
}

/** Where a crop of `extent` starts along a side of `size`: `offset` inward from the near edge, the far edge or the centre (OSS crop semantics). */
function cropStart(size: number, extent: number, offset: number, fromNear: boolean, fromFar: boolean): number {
  if (fromFar) return size - extent - offset;
  return (fromNear ? 0 : Math.round((size - extent) / 2)) + offset;
}

/** Slice `index` of `size` pixels along an axis; an index past the end keeps the whole image (as OSS does). */
function indexRegion([axis, size, index]: IndexCrop, source: SourceInfo): Region | undefined {
  const length = axis === 'x' ? source.width : source.height;
  const start = index * size;
  if (start >= length) return undefined;
  const extent = Math.min(size, length - start);
  return axis === 'x'
    ? { left: start, top: 0, width: extent, height: source.height }
    : { left: 0, top: start, width: source.width, height: extent };
}

function hasMask(spec: CanonicalSpec): boolean {
  return spec.circle !== undefined || spec.round !== undefined;
}

function planFinish(spec: CanonicalSpec): TransformPlan['finish'] {
  const mask =
    spec.circle !== undefined
      ? { shape: 'circle' as const, radius: spec.circle }
      : spec.round !== undefined
        ? { shape: 'round' as const, radius: spec.round }
        : undefined;
  const levels = planLevels(spec.bri ?? 0, spec.con ?? 0);
  if (!mask && !levels && !spec.wm) return undefined;
  return { ...(mask && { mask }), ...(levels && { levels }), ...(spec.wm && { watermark: spec.wm }) };
}

/**
 * Brightness shifts every colour value by up to ±255 (±100 → full range); contrast scales the
 * distance from mid-grey by 0…2 (-100 → flat grey, +100 → doubled).
 */
function planLevels(brightness: number, contrast: number): { multiply: number; add: number } | undefined {
  if (brightness === 0 && contrast === 0) return undefined;
  const multiply = 1 + contrast / 100;
  return { multiply, add: 128 * (1 - multiply) + brightness * 2.55 };
}

function planResize(
  spec: CanonicalSpec,
  before: Size,
  limits: TransformLimits,
  background: Rgba,
): TransformPlan['resize'] {
  const max = limits.maxOutputDimension;
  const percent = spec.scale;
  if (percent !== undefined) {
    // Both sides by one factor, so the cap keeps the aspect ratio.
    const scaled = fitWithin(before.width * (percent / 100), before.height * (percent / 100), max);
    return { ...scaled, fit: 'fill', position: 'center', withoutEnlargement: !spec.enlarge, background };
  }
  if (spec.w !== undefined || spec.h !== undefined) {
    // The box caps the sides asked for; the other side follows the aspect ratio and is capped here.
    const box = {
      ...(spec.w !== undefined && { width: spec.w }),
      ...(spec.h !== undefined && { height: spec.h }),
      fit: spec.fit,
      position: spec.pos ?? 'center',
      withoutEnlargement: !spec.enlarge,
      background,
    };
    return cappedBox(before, box, max);
  }
  // No size asked: keep the original, but never hand an encoder more than the output cap.
  if (before.width > max || before.height > max) {
    return { width: max, height: max, fit: 'inside', position: 'center', withoutEnlargement: true, background };
  }
  return undefined;
}

/** Renders vectors large enough that an enlarged output is drawn, not upscaled, within the pixel cap. */
function svgDensity(spec: CanonicalSpec, before: Size, limits: TransformLimits): number {
  // Crop and slice coordinates are measured at the base density, so a cropped vector keeps it.
  if (!spec.enlarge || spec.crop || spec.icrop || spec.maxar) return SVG_BASE_DENSITY;
  const scale = Math.max((spec.w ?? 0) / before.width, (spec.h ?? 0) / before.height, 1);
  const maxScale = Math.sqrt(limits.maxInputPixels / (before.width * before.height));
  return Math.round(SVG_BASE_DENSITY * Math.max(1, Math.min(scale, maxScale)));
}

export function parseHexColour(hex: string): Rgba {
  const byte = (i: number) => parseInt(hex.slice(i, i + 2), 16);
  return { r: byte(0), g: byte(2), b: byte(4), alpha: hex.length === 8 ? byte(6) / 255 : 1 };
}
