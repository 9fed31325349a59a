/**
 * OSS `watermark` → a complete native `Watermark` (up to three per request, each its own
 * `watermark` operation, at most one of them with an image; OSS's mixed text-and-image watermark
 * within one operation is a row watermark, see `readRow`). The largest operation: placement, a
 * text mark and an image mark each have their own keys, and a key of one kind given with the
 * other alone is refused, not ignored.
 *
 * Placement: g (default se) → gravity; x, y (default 10 px, OSS's margins from the anchored
 * edges) → offset; t (opacity 0-100, default 100) → opacity; fill_1 → tile; voffset (vertical
 * shift of the w/c/e anchors) only 0. Text: text (URL-safe base64 of at most 64 bytes of UTF-8,
 * OSS's "64 characters, 21 Chinese characters") → text; type (base64 font name from OSS's list)
 * → the origin's CJK family; color (default 000000); size (px, default 40) → sizePx (rendered
 * at least 8 px); shadow (shadow opacity 0-100, default 0) → shadow on when above 0 (the native
 * shadow has one fixed strength); rotate (0-360 clockwise) → rotate, normalised to -179…180.
 * Image: image (URL-safe base64 object key of the same source) → key; the key may carry OSS's
 * documented preprocessing `?x-oss-process=image/resize,P_<percent>` and nothing else; P (1-100,
 * percent of the main image's width; as a parameter or in that preprocessing) → width share
 * P/100, without P the logo keeps its own size (width share 1). Unlike OSS, a logo is never
 * enlarged and a mark larger than the output is shrunk to fit it.
 */
import { sourceKeyProblem } from '../../../transforms/rules.js';
import { DEFAULT_WATERMARK_FONT, type ImageWatermark, type RowWatermark, type TextWatermark } from '../../../transforms/watermark.js';
import type { OperationReader } from './collected.js';
import { colour, decodeBase64Url, FLAG, GRAVITY, int, readArgs, signedInt, TEXT, type ArgsOf, type ArgType, type Problems } from './grammar.js';

/**
 * OSS's text watermark fonts (the `type_` table of "Add watermarks"). None is installed here; all
 * render in the origin's CJK family. wqy-zenhei (OSS's default), wqy-microhei, fangzhengheiti and
 * droidsansfallback are sans faces like it; fangzhengshusong, fangzhengkaiti and fangzhengfangsong
 * (Song, Kai, FangSong) are not, but the only family the deployment guarantees is the default one.
 */
const OSS_FONTS: ReadonlySet<string> = new Set([
  'wqy-zenhei', 'wqy-microhei', 'fangzhengshusong', 'fangzhengkaiti', 'fangzhengheiti', 'fangzhengfangsong', 'droidsansfallback',
]);

/** The mark's text: URL-safe base64 of 1-64 bytes of UTF-8 (OSS: "at most 21 Chinese characters"), no control characters. */
const MARK_TEXT: ArgType<string> = {
  read(param, raw, problems) {
    const text = decodeBase64Url(raw);
    if (text === undefined) return problems.add(param, 'must be URL-safe base64 of UTF-8 text');
    if (text.length === 0 || /[\u0000-\u001f\u007f]/.test(text)) return problems.add(param, 'must be non-empty text without control characters');
    if (Buffer.byteLength(text, 'utf8') > 64) return problems.add(param, 'must be at most 64 bytes of UTF-8 (OSS limit: 21 Chinese characters)');
    return text;
  },
};

/** One of OSS's font names, URL-safe base64; every one renders in the origin's own family. */
const FONT: ArgType<string> = {
  read(param, raw, problems) {
    const font = decodeBase64Url(raw);
    if (font !== undefined && OSS_FONTS.has(font)) return font;
    return problems.add(param, `must be the URL-safe base64 of one of ${[...OSS_FONTS].join(', ')}`);
  },
};

const PERCENT = int(1, 100);
const OFFSET = int(0, 4096);

const WATERMARK_ARGS = {
  t: int(0, 100), g: GRAVITY, x: OFFSET, y: OFFSET, voffset: signedInt(-1000, 1000), fill: FLAG, padx: TEXT, pady: TEXT,
  text: MARK_TEXT, type: FONT, color: colour('FFFFFF'), size: int(1, 1000), shadow: int(0, 100), rotate: int(0, 360),
  image: TEXT, P: PERCENT,
  order: int(0, 1), align: int(0, 2), interval: int(0, 1000),
};
type WatermarkArgs = ArgsOf<typeof WATERMARK_ARGS>;

type PlacementKeys = 'gravity' | 'margin' | 'offset' | 'opacity' | 'tile';
type TextBody = Omit<TextWatermark, PlacementKeys>;
type ImageBody = Omit<ImageWatermark, PlacementKeys>;
type RowBody = Omit<RowWatermark, PlacementKeys>;

const ALIGNS = ['top', 'middle', 'bottom'] as const;

/**
 * OSS's mixed watermark: the logo and the text side by side, placed as one mark. order_ 0 (the
 * default) puts the image first (left), 1 the text; align_ 0/1/2 (default 0) aligns them at the
 * top, middle or bottom; interval_ (0-1000 px, default 0) is the gap between them.
 */
function readRow(a: WatermarkArgs, problems: Problems): RowBody | undefined {
  const text = readTextMark(a);
  const image = readImageMark(a, problems);
  const order = a.get('order', 0);
  const align = a.get('align', 0);
  const interval = a.get('interval', 0);
  if (!text || !image || order === undefined || align === undefined || interval === undefined) return undefined;
  return { kind: 'row', parts: order === 0 ? [image, text] : [text, image], align: ALIGNS[align] ?? 'top', interval };
}

export const readWatermark: OperationReader = (args, c, problems) => {
  const op = 'watermark';
  const a = readArgs(op, args, WATERMARK_ARGS, problems);
  if (!a) return;
  a.refuse(['padx', 'pady'], 'spacing between tiled watermarks is not supported');
  const isText = a.has('text');
  const isImage = a.has('image');
  if (!isText && !isImage) return void problems.add(op, 'needs text_ or image_');

  const opacity = a.get('t', 100);
  const gravity = a.get('g', 'se');
  const x = a.get('x', 10);
  const y = a.get('y', 10);
  const voffset = a.get('voffset');
  if (voffset !== undefined && voffset !== 0) problems.add(a.param('voffset'), 'only 0 is supported');
  const tile = a.get('fill', false);

  let mark: TextBody | ImageBody | RowBody | undefined;
  if (isText && isImage) {
    mark = readRow(a, problems);
  } else if (isText) {
    a.refuse(['order', 'align', 'interval'], 'only apply to mixed watermarks (text_ with image_)');
    a.refuse(['image', 'P'], 'only applies to image watermarks');
    mark = readTextMark(a);
  } else {
    a.refuse(['type', 'color', 'size', 'shadow', 'rotate'], 'only applies to text watermarks');
    a.refuse(['order', 'align', 'interval'], 'only apply to mixed watermarks (text_ with image_)');
    mark = readImageMark(a, problems);
  }
  if (!mark || !gravity || opacity === undefined || x === undefined || y === undefined || tile === undefined) return;
  // `margin` is unused when `offset` is set (OSS margins are pixels); 0 keeps the key stable.
  (c.watermarks ??= []).push({ ...mark, gravity, margin: 0, offset: { x, y }, opacity: opacity / 100, tile });
};

function readTextMark(a: WatermarkArgs): TextBody | undefined {
  const text = a.get('text');
  a.get('type'); // validated only: every OSS font renders in the origin's own family
  const color = a.get('color', '000000');
  const size = a.get('size', 40);
  const shadow = a.get('shadow', 0);
  const rotate = a.get('rotate', 0);
  if (text === undefined || color === undefined || size === undefined || shadow === undefined || rotate === undefined) return undefined;
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

function readImageMark(a: WatermarkArgs, problems: Problems): ImageBody | undefined {
  const param = a.param('image');
  const decoded = decodeBase64Url(a.get('image') ?? '');
  if (decoded === undefined) return problems.add(param, 'must be URL-safe base64 of an object key');
  const question = decoded.indexOf('?');
  const key = question < 0 ? decoded : decoded.slice(0, question);
  let percent: number | undefined;
  if (question >= 0) {
    // OSS lets the watermark object carry its own processing; only the documented P_ resize is
    // expressible (as the width share).
    const digits = /^x-oss-process=image\/resize,P_(\d{1,3})$/.exec(decoded.slice(question + 1))?.[1];
    if (digits === undefined) return problems.add(param, 'the watermark object may carry ?x-oss-process=image/resize,P_<percent> and nothing else');
    percent = PERCENT.read(param, digits, problems);
    if (percent === undefined) return undefined;
  }
  const keyProblem = sourceKeyProblem(key);
  if (keyProblem) return problems.add(param, `not a valid object key: ${keyProblem}`);
  if (a.has('P')) {
    if (percent !== undefined) return problems.add(a.param('P'), 'given twice (also in the watermark object\'s processing)');
    percent = a.get('P');
    if (percent === undefined) return undefined;
  }
  return { kind: 'image', key, width: percent === undefined ? 1 : percent / 100 };
}
