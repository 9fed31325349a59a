/**
 * Alibaba Cloud OSS image processing (`?x-oss-process=image/…` and `?x-oss-process=style/…`)
 * translated into the native query grammar of `spec.ts`, so an OSS URL and the equivalent native
 * URL are one canonical variant and one cache entry. Pure: no I/O, no sharp.
 *
 * The rule is that an OSS URL never silently produces a different image. Everything the native
 * pipeline can reproduce is translated (each mapping below says how, and where OSS semantics
 * differ); everything else is a 400 `UNSUPPORTED_OSS_OPERATION` naming the operation (`rotate`)
 * or the operation's parameter (`resize.m`). Parameters are read as the OSS documentation
 * describes them (help.aliyun.com / alibabacloud.com, "Image Processing" → "IMG parameters").
 *
 * Order. OSS runs operations in URL order; the native pipeline has a fixed order. An OSS URL is
 * accepted when its order gives the same image as the native order: see `STAGES` and
 * `orderProblems` below.
 */
import { InvalidRequestError, type Problem } from './errors.js';
import type { Gravity } from './params.js';
import { DEFAULT_WATERMARK_FONT, type ImageWatermark, type TextWatermark, type Watermark } from './watermark.js';

export type OssRequest =
  | { readonly kind: 'transform'; readonly params: URLSearchParams; readonly watermark?: Watermark }
  | { readonly kind: 'info' }
  | { readonly kind: 'average-hue' };

/** The error code of every refusal from this module (HTTP 400). */
export const OSS_ERROR_CODE = 'UNSUPPORTED_OSS_OPERATION';

/** OSS's largest resize side (newer OSS documents 16384; the native `w`/`h` cap still applies after translation). */
const MAX_RESIZE_SIDE = 16_384;
/** Largest native crop coordinate/size (`spec.ts`); a crop "to the edge" is written as this size, which the pipeline clamps. */
const CROP_TO_EDGE = 100_000;
/** Largest native `icrop` index (four digits in `spec.ts`). */
const MAX_INDEX = 9_999;

type OpName =
  | 'resize' | 'crop' | 'indexcrop' | 'circle' | 'rounded-corners' | 'rotate' | 'auto-orient' | 'quality' | 'format'
  | 'interlace' | 'blur' | 'bright' | 'contrast' | 'sharpen' | 'watermark' | 'info' | 'average-hue';

const OPERATIONS: ReadonlySet<string> = new Set<OpName>([
  'resize', 'crop', 'indexcrop', 'circle', 'rounded-corners', 'rotate', 'auto-orient', 'quality', 'format',
  'interlace', 'blur', 'bright', 'contrast', 'sharpen', 'watermark', 'info', 'average-hue',
]);

/**
 * Where each operation runs in the native pipeline (transforms/pipeline.ts): crop/indexcrop →
 * rotate → resize → blur → sharpen → (circle: centred square) → contrast+brightness (one linear
 * step: contrast first) → watermark → (circle/rounded-corners: alpha mask) → encode.
 * auto-orient, quality, format and interlace have no stage: OSS applies EXIF orientation before
 * everything (its docs: "rotate first, then resize") and the encoder settings at the end, wherever
 * they are written, and so does the native pipeline.
 */
const STAGES: Readonly<Partial<Record<OpName, number>>> = {
  crop: 1,
  indexcrop: 1,
  rotate: 2,
  resize: 3,
  blur: 4,
  sharpen: 5,
  circle: 6,
  contrast: 7,
  bright: 8,
  watermark: 9,
  'rounded-corners': 10,
};

/** Per-pixel operations that do not touch alpha: they commute with the circle and rounded-corner masks. */
const LEVELS: ReadonlySet<OpName> = new Set(['bright', 'contrast']);
const MASKS: ReadonlySet<OpName> = new Set(['circle', 'rounded-corners']);
/**
 * Operations a quarter (or half) turn commutes with exactly, so an OSS `rotate` written after them
 * is the native `rot` before them: isotropic filters, per-pixel levels, a symmetric corner mask,
 * and a resize without centring (the w/h box is swapped). Not the circle (its centred square is
 * rounded toward the top-left, so turning afterwards can move it by a pixel) nor the watermark
 * (OSS would turn the mark with the image).
 */
const TURN_COMMUTES: ReadonlySet<OpName> = new Set(['resize', 'blur', 'sharpen', 'bright', 'contrast', 'rounded-corners']);

/** OSS crop/watermark anchors → native `Gravity`. */
const OSS_GRAVITIES: Readonly<Record<string, Gravity>> = {
  nw: 'nw', north: 'n', ne: 'ne', west: 'w', center: 'c', east: 'e', sw: 'sw', south: 's', se: 'se',
};

/**
 * OSS's text watermark fonts (the `type_` table of "Add watermarks"). None is installed here; all
 * render in the origin's CJK family. wqy-zenhei (OSS's default), wqy-microhei, fangzhengheiti and
 * droidsansfallback are sans faces like it; fangzhengshusong, fangzhengkaiti and fangzhengfangsong
 * (Song, Kai, FangSong) are not, but the only family the deployment guarantees is the default one.
 */
const OSS_FONTS: ReadonlySet<string> = new Set([
  'wqy-zenhei', 'wqy-microhei', 'fangzhengshusong', 'fangzhengkaiti', 'fangzhengheiti', 'fangzhengfangsong', 'droidsansfallback',
]);

/** OSS style names: 1-64 letters, digits, `_`, `-`, `.` (OSS "Image style"). */
const OSS_STYLE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** Preset names (presets/preset-schema.ts): a style is served by the preset of the same name. */
const PRESET_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

interface Op {
  readonly name: OpName;
  /** Position in the URL. */
  readonly index: number;
}

/** What the operations asked for, gathered before the native parameters are written. */
interface Collected {
  resize?: { width?: number; height?: number; fit?: 'inside' | 'outside' | 'cover' | 'contain' | 'fill'; background?: string; enlarge: boolean; scale?: number; centres: boolean };
  crop?: { x: number; y: number; width: number; height: number; gravity: Gravity };
  indexCrop?: { axis: 'x' | 'y'; size: number; index: number };
  circle?: number;
  round?: number;
  rotate?: 0 | 90 | 180 | 270;
  quality?: number;
  format?: 'jpeg' | 'png' | 'webp' | 'gif' | 'avif';
  blur?: number;
  sharpen?: string;
  bright?: number;
  contrast?: number;
  watermark?: Watermark;
}

class Problems {
  readonly list: Problem[] = [];
  add(param: string, message: string): undefined {
    this.list.push({ param, message });
    return undefined;
  }
}

/**
 * Translates the decoded value of `x-oss-process`. Throws `InvalidRequestError(problems,
 * 'UNSUPPORTED_OSS_OPERATION')` listing every operation or parameter it cannot translate exactly.
 */
export function translateOssProcess(value: string): OssRequest {
  const problems = new Problems();
  const slash = value.indexOf('/');
  const family = slash < 0 ? value : value.slice(0, slash);
  const rest = slash < 0 ? '' : value.slice(slash + 1);
  let result: OssRequest | undefined;
  if (family === 'style') result = translateStyle(rest, problems);
  else if (family === 'image') result = translateImage(rest, problems);
  else problems.add('x-oss-process', `must start with image/ or style/ (got "${family}")`);
  if (problems.list.length > 0 || !result) throw new InvalidRequestError(problems.list, OSS_ERROR_CODE);
  return result;
}

/** `style/<name>`: an OSS image style is a named set of operations; here that is a preset. */
function translateStyle(name: string, problems: Problems): OssRequest | undefined {
  if (!OSS_STYLE_NAME.test(name)) return problems.add('style', 'must be a style name: 1-64 letters, digits, _, - or .');
  if (!PRESET_NAME.test(name)) {
    return problems.add('style', `"${name}" cannot name a preset here (preset names are lower-case a-z, 0-9, _ and -)`);
  }
  return { kind: 'transform', params: new URLSearchParams([['preset', name]]) };
}

function translateImage(rest: string, problems: Problems): OssRequest | undefined {
  if (rest === '') return problems.add('x-oss-process', 'names no operation after image/');
  const segments = rest.split('/');
  const ops: Op[] = [];
  const seen = new Set<string>();
  const collected: Collected = {};
  segments.forEach((segment, index) => {
    const [name = '', ...args] = segment.split(',');
    if (name === '') return problems.add('x-oss-process', `operation ${index + 1} is empty`);
    if (!OPERATIONS.has(name)) return problems.add(name, 'unknown or unsupported OSS operation');
    // Applying an operation twice is two resamplings, two crops, two roundings of levels…: the
    // native pipeline does each once, so repeats are refused (a second watermark included).
    if (seen.has(name)) {
      return problems.add(name, name === 'watermark' ? 'only one watermark per request' : 'given more than once');
    }
    seen.add(name);
    const op = name as OpName;
    ops.push({ name: op, index });
    readOperation(op, args, collected, problems);
    return undefined;
  });
  if (problems.list.length > 0) return undefined;

  const names = ops.map((o) => o.name);
  for (const only of ['info', 'average-hue'] as const) {
    if (names.includes(only)) {
      if (names.length > 1) return problems.add(only, 'must be the only operation');
      return { kind: only };
    }
  }
  orderProblems(ops, collected, problems);
  combinationProblems(collected, problems);
  if (problems.list.length > 0) return undefined;

  // A quarter turn written after the resize: OSS resizes, then turns; natively the turn comes
  // first, so the box is turned too (w and h swap). Exact for resizes without centring (checked
  // in `orderProblems`): scale factors and size rounding are symmetric in the two axes, so the
  // output size is the same and the pixels differ only by resampling rounding (the test measures
  // a mean difference below 1/255 against resize-then-rotate done one step at a time).
  const rotateAt = ops.find((o) => o.name === 'rotate')?.index;
  const resizeAt = ops.find((o) => o.name === 'resize')?.index;
  const resize = collected.resize;
  if (resize && rotateAt !== undefined && resizeAt !== undefined && rotateAt > resizeAt && (collected.rotate === 90 || collected.rotate === 270)) {
    const { width, height } = resize;
    delete resize.width;
    delete resize.height;
    if (height !== undefined) resize.width = height;
    if (width !== undefined) resize.height = width;
  }
  return {
    kind: 'transform',
    params: writeParams(collected),
    ...(collected.watermark && { watermark: collected.watermark }),
  };
}

function readOperation(op: OpName, args: string[], c: Collected, problems: Problems): void {
  switch (op) {
    case 'resize':
      return readResize(args, c, problems);
    case 'crop':
      return readCrop(args, c, problems);
    case 'indexcrop':
      return readIndexCrop(args, c, problems);
    case 'circle': {
      // OSS: r 1-4096; a radius above half the short side becomes half the short side (native the same).
      const p = keyed(op, args, ['r'], problems);
      const r = p && required(op, p, 'r', problems) && int(`${op}.r`, p.get('r')!, 1, 4096, problems);
      if (r !== undefined) c.circle = r;
      return;
    }
    case 'rounded-corners': {
      // OSS: r 1-4096, capped at half the short side (native the same).
      const p = keyed(op, args, ['r'], problems);
      const r = p && required(op, p, 'r', problems) && int(`${op}.r`, p.get('r')!, 1, 4096, problems);
      if (r !== undefined) c.round = r;
      return;
    }
    case 'rotate': {
      // OSS: 0-360 degrees clockwise; other than quarter turns it enlarges the canvas, which the
      // native grammar cannot express.
      const v = single(op, args, problems);
      const degrees = v === undefined ? undefined : int(op, v, 0, 360, problems);
      if (degrees === undefined) return;
      if (degrees % 90 !== 0) {
        problems.add(op, 'only multiples of 90 are supported');
        return;
      }
      c.rotate = (degrees % 360) as 0 | 90 | 180 | 270;
      return;
    }
    case 'auto-orient': {
      // The origin always applies EXIF orientation first (what auto-orient,1 asks for); keeping
      // the stored orientation (auto-orient,0) cannot be expressed.
      const v = single(op, args, problems);
      if (v === undefined) return;
      if (v === '0') problems.add(op, 'auto-orient,0 is not supported: EXIF orientation is always applied');
      else if (v !== '1') problems.add(op, 'must be 0 or 1');
      return;
    }
    case 'interlace': {
      // JPEG output is always progressive here (mozjpeg's scans; economy mode sets progressive),
      // so interlace,1 is what happens anyway and interlace,0 (baseline) is a difference in
      // encoding only, not in pixels: both are accepted and write nothing.
      const v = single(op, args, problems);
      if (v !== undefined && v !== '0' && v !== '1') problems.add(op, 'must be 0 or 1');
      return;
    }
    case 'quality':
      return readQuality(args, c, problems);
    case 'format': {
      const v = single(op, args, problems);
      if (v === undefined) return;
      const formats: Record<string, Collected['format']> = { jpg: 'jpeg', jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', avif: 'avif' };
      const format = formats[v];
      if (format) c.format = format;
      else if (['bmp', 'tiff', 'heic', 'jxl'].includes(v)) problems.add(op, `${v} output is not supported (jpg, png, webp, gif, avif)`);
      else problems.add(op, 'must be one of jpg, png, webp, gif, avif');
      return;
    }
    case 'blur': {
      // OSS: r (radius) and s (standard deviation), both 1-50. libvips derives the kernel from the
      // sigma alone (it spans the sigma until the Gaussian is negligible), so s is the blur and r
      // is only validated.
      const p = keyed(op, args, ['r', 's'], problems);
      if (!p) return;
      if (p.has('r')) int(`${op}.r`, p.get('r')!, 1, 50, problems);
      const s = required(op, p, 's', problems) && int(`${op}.s`, p.get('s')!, 1, 50, problems);
      if (s !== undefined) c.blur = s;
      return;
    }
    case 'bright':
    case 'contrast': {
      // OSS: -100…100, 0 unchanged: the native bri/con range and direction. OSS does not document
      // its curves, so tones can differ slightly.
      const v = single(op, args, problems);
      const n = v === undefined ? undefined : signedInt(op, v, -100, 100, problems);
      if (n !== undefined && n !== 0) c[op] = n;
      return;
    }
    case 'sharpen': {
      // OSS: 50-399, 100 recommended, scale undocumented. Native sharpen is a sigma (0.3-10):
      // value/100 (so 100 → sigma 1, sharp's own default strength), always inside the native range.
      const v = single(op, args, problems);
      const n = v === undefined ? undefined : int(op, v, 50, 399, problems);
      if (n !== undefined) c.sharpen = hundredths(n);
      return;
    }
    case 'watermark':
      return readWatermark(args, c, problems);
    case 'info':
    case 'average-hue':
      if (args.length > 0) problems.add(op, 'takes no parameters');
      return;
  }
}

/**
 * resize. OSS modes (m, default lfit) against native fits, for a w×h box:
 * - lfit → fit=inside (largest image inside the box); mfit → fit=outside (smallest image covering it);
 * - fill → fit=cover, centred (OSS always crops from the centre);
 * - pad → fit=contain, centred, bg from color (OSS default white, so bg=ffffff is always written:
 *   natively an alpha source would pad with transparency);
 * - fixed → fit=fill (stretched).
 * One side only (OSS "Usage notes"): lfit/mfit scale proportionally to that side (native w or h
 * alone); fill/pad/fixed use it for both sides (a square box).
 * l (long side) and s (short side), without w/h: l_N makes the longer output side N, which is
 * exactly fit=inside in an N×N box; s_N makes the shorter side N, exactly fit=outside in an N×N
 * box (scale N/max(W,H), resp. N/min(W,H), rounded the same way). That holds in lfit and mfit
 * alike (one constraint leaves nothing for the mode to decide). l and s together describe a box
 * oriented like the source, which no fixed w/h box expresses unless l = s. With w or h given, OSS
 * ignores l and s (documented), and so does this translation.
 * p (percent, 1-1000) → scale, which never enlarges natively: p above 100 is refused.
 * limit (default 1: never enlarge) → enlarge=0 (the default); limit_0 → enlarge=1.
 */
function readResize(args: string[], c: Collected, problems: Problems): void {
  const op = 'resize';
  const p = keyed(op, args, ['m', 'w', 'h', 'l', 's', 'p', 'limit', 'color'], problems);
  if (!p) return;
  const mode = p.get('m') ?? 'lfit';
  const fits = { lfit: 'inside', mfit: 'outside', fill: 'cover', pad: 'contain', fixed: 'fill' } as const;
  if (!(mode in fits)) problems.add(`${op}.m`, 'must be one of lfit, mfit, fill, pad, fixed');
  const side = (key: string) => (p.has(key) ? int(`${op}.${key}`, p.get(key)!, 1, MAX_RESIZE_SIDE, problems) : undefined);
  const [w, h, l, s] = [side('w'), side('h'), side('l'), side('s')];
  const limit = p.has('limit') ? flag(`${op}.limit`, p.get('limit')!, problems) : true;
  let color: string | undefined;
  if (p.has('color')) {
    const raw = p.get('color')!;
    if (!/^[0-9a-fA-F]{6}$/.test(raw)) problems.add(`${op}.color`, 'must be an RGB hex colour like FF0000');
    else color = raw.toLowerCase();
    if (mode !== 'pad') problems.add(`${op}.color`, 'only applies with m_pad');
  }
  const enlarge = limit === false;

  if (p.has('p')) {
    const percent = int(`${op}.p`, p.get('p')!, 1, 1000, problems);
    for (const key of ['m', 'w', 'h', 'l', 's']) if (p.has(key)) problems.add(`${op}.${key}`, 'cannot be combined with p_');
    if (percent !== undefined && percent > 100) {
      problems.add(`${op}.p`, 'enlarging by percentage is not supported (at most 100)');
    }
    if (percent !== undefined) c.resize = { scale: percent, enlarge: false, centres: false };
    return;
  }
  if (!(mode in fits)) return;
  const fit = fits[mode as keyof typeof fits];
  let width = w;
  let height = h;
  let boxFit = fit;
  if (w === undefined && h === undefined) {
    if (l === undefined && s === undefined) {
      if (!p.has('w') && !p.has('h') && !p.has('l') && !p.has('s')) problems.add(op, 'needs w_, h_, l_, s_ or p_');
      return;
    }
    if (mode !== 'lfit' && mode !== 'mfit') {
      problems.add(`${op}.${l !== undefined ? 'l' : 's'}`, 'l_ and s_ are supported with m_lfit and m_mfit only');
      return;
    }
    if (l !== undefined && s !== undefined && l !== s) {
      problems.add(`${op}.l`, 'l_ with a different s_ depends on the source orientation and cannot be expressed');
      return;
    }
    // l alone (or l = s): longest side N; s alone: shortest side N.
    width = height = (l ?? s)!;
    boxFit = l !== undefined && s !== undefined ? fit : l !== undefined ? 'inside' : 'outside';
  } else if ((w === undefined || h === undefined) && (mode === 'fill' || mode === 'pad' || mode === 'fixed')) {
    // OSS: in the fixed-box modes a single side is used for both.
    width = height = (w ?? h)!;
  }
  if ((p.has('w') && w === undefined) || (p.has('h') && h === undefined)) return;
  c.resize = {
    ...(width !== undefined && { width }),
    ...(height !== undefined && { height }),
    ...(width !== undefined && height !== undefined && { fit: boxFit }),
    ...(mode === 'pad' && { background: color ?? 'ffffff' }),
    enlarge,
    // Only a cover crop or contain padding with both sides set is centred.
    centres: width !== undefined && height !== undefined && (boxFit === 'cover' || boxFit === 'contain'),
  };
}

/**
 * crop: x, y (default 0), w, h (default "the maximum": to the image's edge), g (origin anchor,
 * default nw) → crop=x,y,w,h (+cropg). Native offsets are measured inward from the anchor like
 * OSS's. A missing w (h) is written as the native maximum, which the pipeline clamps to the
 * image's edge: exact when the anchor is on the left (top) edge, so nw/west/sw (nw/north/ne);
 * for other anchors OSS's "maximum" is not documented and a w (h) is required. A start outside
 * the image is a 400 from the pipeline, as OSS's BadRequest.
 */
function readCrop(args: string[], c: Collected, problems: Problems): void {
  const op = 'crop';
  const p = keyed(op, args, ['x', 'y', 'w', 'h', 'g'], problems);
  if (!p) return;
  const x = p.has('x') ? int(`${op}.x`, p.get('x')!, 0, CROP_TO_EDGE, problems) : 0;
  const y = p.has('y') ? int(`${op}.y`, p.get('y')!, 0, CROP_TO_EDGE, problems) : 0;
  const gravity = p.has('g') ? OSS_GRAVITIES[p.get('g')!] : 'nw';
  if (!gravity) problems.add(`${op}.g`, `must be one of ${Object.keys(OSS_GRAVITIES).join(', ')}`);
  let width = p.has('w') ? int(`${op}.w`, p.get('w')!, 1, CROP_TO_EDGE, problems) : undefined;
  let height = p.has('h') ? int(`${op}.h`, p.get('h')!, 1, CROP_TO_EDGE, problems) : undefined;
  if (!gravity || x === undefined || y === undefined || (p.has('w') && width === undefined) || (p.has('h') && height === undefined)) return;
  if (width === undefined) {
    if (gravity.endsWith('w')) width = CROP_TO_EDGE;
    else return void problems.add(`${op}.w`, `is required with g_${p.get('g')}`);
  }
  if (height === undefined) {
    if (gravity.startsWith('n')) height = CROP_TO_EDGE;
    else return void problems.add(`${op}.h`, `is required with g_${p.get('g')}`);
  }
  c.crop = { x, y, width, height, gravity };
}

/**
 * indexcrop: x (slice width) or y (slice height), i (index, default 0) → icrop=axis,size,index.
 * OSS: with both x and y, y wins (documented), and an index past the end returns the whole
 * image (the native pipeline does the same).
 */
function readIndexCrop(args: string[], c: Collected, problems: Problems): void {
  const op = 'indexcrop';
  const p = keyed(op, args, ['x', 'y', 'i'], problems);
  if (!p) return;
  if (!p.has('x') && !p.has('y')) return void problems.add(op, 'needs x_ or y_');
  const x = p.has('x') ? int(`${op}.x`, p.get('x')!, 1, CROP_TO_EDGE, problems) : undefined;
  const y = p.has('y') ? int(`${op}.y`, p.get('y')!, 1, CROP_TO_EDGE, problems) : undefined;
  const index = p.has('i') ? int(`${op}.i`, p.get('i')!, 0, MAX_INDEX, problems) : 0;
  if (index === undefined) return;
  if (y !== undefined) c.indexCrop = { axis: 'y', size: y, index };
  else if (x !== undefined && !p.has('y')) c.indexCrop = { axis: 'x', size: x, index };
}

/**
 * quality: Q (absolute) and q (relative to the source JPEG's own quality) → q, absolute. The
 * differences: OSS caps Q at the source's quality, and computes q × source quality; the origin
 * does not read the source's quantisation tables, so both are the encoder quality as given.
 * With both, Q wins (documented).
 */
function readQuality(args: string[], c: Collected, problems: Problems): void {
  const op = 'quality';
  const p = keyed(op, args, ['q', 'Q'], problems);
  if (!p) return;
  if (!p.has('q') && !p.has('Q')) return void problems.add(op, 'needs q_ or Q_');
  const relative = p.has('q') ? int(`${op}.q`, p.get('q')!, 1, 100, problems) : undefined;
  const absolute = p.has('Q') ? int(`${op}.Q`, p.get('Q')!, 1, 100, problems) : undefined;
  const q = p.has('Q') ? absolute : relative;
  if (q !== undefined) c.quality = q;
}

/**
 * watermark → a complete `Watermark` (one per request; OSS's mixed text-and-image watermark is
 * refused). Placement: g (default se) → gravity; x, y (default 10 px, OSS's margins from the
 * anchored edges) → offset; t (opacity 0-100, default 100) → opacity; fill_1 → tile;
 * voffset (vertical shift of the w/c/e anchors) only 0. Text: text (URL-safe base64 of at most 64
 * bytes of UTF-8, OSS's "64 characters, 21 Chinese characters") → text; type (base64 font name from OSS's list) → the origin's CJK family;
 * color (default 000000); size (px, default 40) → sizePx (rendered at least 8 px); shadow
 * (shadow opacity 0-100, default 0) → shadow on when above 0 (the native shadow has one fixed
 * strength); rotate (0-360 clockwise) → rotate, normalised to -179…180. Image: image (URL-safe
 * base64 object key of the same source) → key; the key may carry OSS's documented preprocessing
 * `?x-oss-process=image/resize,P_<percent>` and nothing else; P (1-100, percent of the main
 * image's width; as a parameter or in that preprocessing) → width share P/100, without P the
 * logo keeps its own size (width share 1). Unlike OSS, a logo is never enlarged and a mark larger
 * than the output is shrunk to fit it.
 */
function readWatermark(args: string[], c: Collected, problems: Problems): void {
  const op = 'watermark';
  const p = keyed(
    op,
    args,
    ['t', 'g', 'x', 'y', 'voffset', 'fill', 'padx', 'pady', 'text', 'type', 'color', 'size', 'shadow', 'rotate', 'image', 'P', 'order', 'align', 'interval'],
    problems,
  );
  if (!p) return;
  const param = (key: string) => `${op}.${key}`;
  for (const key of ['order', 'align', 'interval']) {
    if (p.has(key)) problems.add(param(key), 'mixed text-and-image watermarks are not supported');
  }
  for (const key of ['padx', 'pady']) if (p.has(key)) problems.add(param(key), 'spacing between tiled watermarks is not supported');
  const isText = p.has('text');
  const isImage = p.has('image');
  if (isText && isImage) return void problems.add(op, 'text_ and image_ together (a mixed watermark) are not supported');
  if (!isText && !isImage) return void problems.add(op, 'needs text_ or image_');

  const opacity = p.has('t') ? int(param('t'), p.get('t')!, 0, 100, problems) : 100;
  const gravity = p.has('g') ? OSS_GRAVITIES[p.get('g')!] : 'se';
  if (!gravity) problems.add(param('g'), `must be one of ${Object.keys(OSS_GRAVITIES).join(', ')}`);
  const x = p.has('x') ? int(param('x'), p.get('x')!, 0, 4096, problems) : 10;
  const y = p.has('y') ? int(param('y'), p.get('y')!, 0, 4096, problems) : 10;
  if (p.has('voffset')) {
    const voffset = signedInt(param('voffset'), p.get('voffset')!, -1000, 1000, problems);
    if (voffset !== undefined && voffset !== 0) problems.add(param('voffset'), 'only 0 is supported');
  }
  const tile = p.has('fill') ? flag(param('fill'), p.get('fill')!, problems) : false;

  let mark: TextBody | ImageBody | undefined;
  if (isText) {
    for (const key of ['image', 'P']) if (p.has(key)) problems.add(param(key), 'only applies to image watermarks');
    mark = readTextMark(p, problems);
  } else {
    for (const key of ['type', 'color', 'size', 'shadow', 'rotate']) if (p.has(key)) problems.add(param(key), 'only applies to text watermarks');
    mark = readImageMark(p, problems);
  }
  if (!mark || !gravity || opacity === undefined || x === undefined || y === undefined || tile === undefined) return;
  // `margin` is unused when `offset` is set (OSS margins are pixels); 0 keeps the key stable.
  c.watermark = { ...mark, gravity, margin: 0, offset: { x, y }, opacity: opacity / 100, tile };
}

type PlacementKeys = 'gravity' | 'margin' | 'offset' | 'opacity' | 'tile';
type TextBody = Omit<TextWatermark, PlacementKeys>;
type ImageBody = Omit<ImageWatermark, PlacementKeys>;

function readTextMark(p: Map<string, string>, problems: Problems): TextBody | undefined {
  const param = (key: string) => `watermark.${key}`;
  const encoded = p.get('text')!;
  let text = decodeBase64Url(encoded);
  if (text === undefined) problems.add(param('text'), 'must be URL-safe base64 of UTF-8 text');
  else if (text.length === 0 || /[\u0000-\u001f\u007f]/.test(text)) {
    problems.add(param('text'), 'must be non-empty text without control characters');
    text = undefined;
  } else if (Buffer.byteLength(text, 'utf8') > 64) {
    // OSS: "at most 64 characters (at most 21 Chinese characters)", i.e. 64 bytes of UTF-8.
    problems.add(param('text'), 'must be at most 64 bytes of UTF-8 (OSS limit: 21 Chinese characters)');
    text = undefined;
  }
  if (p.has('type')) {
    const font = decodeBase64Url(p.get('type')!);
    if (font === undefined || !OSS_FONTS.has(font)) problems.add(param('type'), `must be the URL-safe base64 of one of ${[...OSS_FONTS].join(', ')}`);
  }
  let color = '000000';
  if (p.has('color')) {
    const raw = p.get('color')!;
    if (/^[0-9a-fA-F]{6}$/.test(raw)) color = raw.toLowerCase();
    else problems.add(param('color'), 'must be an RGB hex colour like FFFFFF');
  }
  const size = p.has('size') ? int(param('size'), p.get('size')!, 1, 1000, problems) : 40;
  const shadow = p.has('shadow') ? int(param('shadow'), p.get('shadow')!, 0, 100, problems) : 0;
  const rotate = p.has('rotate') ? int(param('rotate'), p.get('rotate')!, 0, 360, problems) : 0;
  if (text === undefined || size === undefined || shadow === undefined || rotate === undefined) return undefined;
  const turn = rotate % 360;
  return {
    kind: 'text',
    text,
    font: DEFAULT_WATERMARK_FONT,
    // `size` (a share of the output width) is unused when `sizePx` is set; a fixed value keeps the key stable.
    size: 0.04,
    sizePx: size,
    color,
    shadow: shadow > 0,
    rotate: turn > 180 ? turn - 360 : turn,
  };
}

function readImageMark(p: Map<string, string>, problems: Problems): ImageBody | undefined {
  const param = (key: string) => `watermark.${key}`;
  const decoded = decodeBase64Url(p.get('image')!);
  if (decoded === undefined) return problems.add(param('image'), 'must be URL-safe base64 of an object key');
  const question = decoded.indexOf('?');
  const key = question < 0 ? decoded : decoded.slice(0, question);
  let percent: number | undefined;
  if (question >= 0) {
    // OSS lets the watermark object carry its own processing; only the documented P_ resize is
    // expressible (as the width share).
    const match = /^x-oss-process=image\/resize,P_(\d{1,3})$/.exec(decoded.slice(question + 1));
    if (!match) return problems.add(param('image'), 'the watermark object may carry ?x-oss-process=image/resize,P_<percent> and nothing else');
    percent = int(param('image'), match[1]!, 1, 100, problems);
    if (percent === undefined) return undefined;
  }
  const keyProblem = sourceKeyProblem(key);
  if (keyProblem) return problems.add(param('image'), keyProblem);
  if (p.has('P')) {
    if (percent !== undefined) return problems.add(param('P'), 'given twice (also in the watermark object\'s processing)');
    percent = int(param('P'), p.get('P')!, 1, 100, problems);
    if (percent === undefined) return undefined;
  }
  return { kind: 'image', key, width: percent === undefined ? 1 : percent / 100 };
}

/** The rules a source key obeys everywhere else (a relative key without `.`, `..` or empty segments). */
function sourceKeyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > 1024) return 'the object key must be 1-1024 characters';
  if (/[\u0000-\u001f\u007f\\]/.test(key)) return 'the object key must not contain control characters or a backslash';
  if (key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    return 'the object key must be relative, without empty, "." or ".." segments';
  }
  return undefined;
}

/**
 * Order: for each pair of operations, OSS's order must give the image the native order gives.
 * Written in native order it does; written the other way round only when the two commute.
 */
function orderProblems(ops: readonly Op[], c: Collected, problems: Problems): void {
  // A no-op (rotate,0, bright,0, contrast,0) has no place in the pipeline and so no order.
  const noOp = (o: Op) => (o.name === 'rotate' && !c.rotate) || (o.name === 'bright' && c.bright === undefined) || (o.name === 'contrast' && c.contrast === undefined);
  const staged = ops.filter((o) => STAGES[o.name] !== undefined && !noOp(o));
  for (let i = 0; i < staged.length; i++) {
    for (let j = i + 1; j < staged.length; j++) {
      const first = staged[i]!.name;
      const second = staged[j]!.name;
      if (STAGES[first]! <= STAGES[second]!) continue;
      // Levels never touch alpha, masks touch only alpha: either order gives the same pixels.
      if ((LEVELS.has(first) && MASKS.has(second)) || (MASKS.has(first) && LEVELS.has(second))) continue;
      if (second === 'rotate' && TURN_COMMUTES.has(first)) {
        if (first === 'resize' && c.resize?.centres) {
          problems.add('rotate', 'after resize with m_fill or m_pad is not supported: the centring can land a pixel apart (write rotate first)');
        }
        continue;
      }
      problems.add(second, `after ${first} is not supported: the native pipeline runs ${second} before ${first}, and here the order changes the image`);
    }
  }
}

/** Combinations the native pipeline refuses or cannot reproduce whatever the order. */
function combinationProblems(c: Collected, problems: Problems): void {
  if (c.crop && c.indexCrop) problems.add('indexcrop', 'cannot be combined with crop');
  if (c.circle !== undefined && c.round !== undefined) problems.add('rounded-corners', 'cannot be combined with circle');
  // Natively the watermark is placed on the circle's square and then masked with it; OSS either
  // masks the mark on the full image first or leaves a later mark unmasked.
  if (c.circle !== undefined && c.watermark) problems.add('watermark', 'cannot be combined with circle');
  // JPEG output flattens the transparent corners onto bg, which m_pad sets to its colour; OSS
  // fills them with white.
  if ((c.circle !== undefined || c.round !== undefined) && c.format === 'jpeg' && c.resize?.background && c.resize.background !== 'ffffff') {
    problems.add('resize.color', 'a non-white pad colour with circle or rounded-corners and JPEG output is not supported');
  }
}

/** Native parameters in one fixed order; defaults are left out. */
function writeParams(c: Collected): URLSearchParams {
  const params: [string, string][] = [];
  const put = (name: string, value: string | number | undefined) => {
    if (value !== undefined) params.push([name, String(value)]);
  };
  const r = c.resize;
  put('w', r?.width);
  put('h', r?.height);
  put('fit', r?.fit);
  put('bg', r?.background);
  if (r?.enlarge) put('enlarge', 1);
  put('scale', r?.scale);
  if (c.crop) {
    const { x, y, width, height, gravity } = c.crop;
    put('crop', `${x},${y},${width},${height}`);
    if (gravity !== 'nw') put('cropg', gravity);
  }
  if (c.indexCrop) put('icrop', `${c.indexCrop.axis},${c.indexCrop.size},${c.indexCrop.index}`);
  if (c.rotate) put('rot', c.rotate);
  put('round', c.round);
  put('circle', c.circle);
  put('blur', c.blur);
  put('sharpen', c.sharpen);
  put('bri', c.bright);
  put('con', c.contrast);
  put('q', c.quality);
  put('fm', c.format);
  // OSS keeps GIF animation through its operations, except a percentage resize, which it
  // documents as making GIFs static. anim=1 keeps animation wherever the native pipeline can
  // (it serves the first frame after quarter turns, masks, levels and watermarks).
  if (r?.scale === undefined) put('anim', 1);
  return new URLSearchParams(params);
}

/** `k_v` parameters of one operation; unknown, repeated and malformed ones are problems. */
function keyed(op: OpName, args: string[], allowed: readonly string[], problems: Problems): Map<string, string> | undefined {
  const map = new Map<string, string>();
  let ok = true;
  for (const arg of args) {
    const underscore = arg.indexOf('_');
    const key = underscore < 0 ? arg : arg.slice(0, underscore);
    if (underscore <= 0) {
      problems.add(op, `"${arg}" is not a key_value parameter`);
      ok = false;
    } else if (!allowed.includes(key)) {
      problems.add(`${op}.${key}`, 'unknown or unsupported parameter');
      ok = false;
    } else if (map.has(key)) {
      problems.add(`${op}.${key}`, 'given more than once');
      ok = false;
    } else map.set(key, arg.slice(underscore + 1));
  }
  return ok ? map : undefined;
}

/** Operations written `op,value`. */
function single(op: OpName, args: string[], problems: Problems): string | undefined {
  if (args.length !== 1 || args[0] === '') return problems.add(op, 'takes exactly one value');
  return args[0];
}

function required(op: OpName, p: Map<string, string>, key: string, problems: Problems): true | undefined {
  return p.has(key) ? true : problems.add(op, `needs ${key}_`);
}

function int(param: string, raw: string, min: number, max: number, problems: Problems): number | undefined {
  if (!/^\d{1,6}$/.test(raw)) return problems.add(param, 'must be a whole number');
  const n = Number(raw);
  if (n < min || n > max) return problems.add(param, `must be ${min}-${max}`);
  return n;
}

function signedInt(param: string, raw: string, min: number, max: number, problems: Problems): number | undefined {
  if (!/^-?\d{1,6}$/.test(raw)) return problems.add(param, 'must be a whole number');
  const n = Number(raw);
  if (n < min || n > max) return problems.add(param, `must be ${min}…${max}`);
  return n === 0 ? 0 : n; // no -0
}

function flag(param: string, raw: string, problems: Problems): boolean | undefined {
  if (raw !== '0' && raw !== '1') return problems.add(param, 'must be 0 or 1');
  return raw === '1';
}

/** `n / 100` written with at most two decimals and no trailing zeros (150 → "1.5"), as `spec.ts` accepts it. */
function hundredths(n: number): string {
  const whole = Math.floor(n / 100);
  const fraction = String(n % 100).padStart(2, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** OSS's URL-safe base64 (`-`, `_`, padding usually omitted) of UTF-8; undefined when it is not. */
function decodeBase64Url(value: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(value)) return undefined;
  const body = value.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(body, 'base64url'));
  } catch {
    return undefined;
  }
}
