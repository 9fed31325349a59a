/**
 * The one table of transform parameters. Each row is a query parameter: how its value is read
 * (a zod schema from the query string's text), the value that means "unchanged" (dropped from the
 * variant key), whether presets may use it, and its README documentation. The spec parser, the
 * canonical serializer, the preset file schema, the URL builder and the README's parameter table
 * all derive from it, so a new parameter is one row here plus its pipeline step.
 *
 * The row order is the variant key's field order (`test/canonical.test.ts` pins it): a new row
 * may go anywhere, since a parameter a request does not use is absent from its key.
 */
import * as z from 'zod';
import { aspectProblem, type AspectLimit } from './aspect.js';
import { MAX_FILE_NAME, sanitizeFileName } from './file-name.js';
import type { TransformLimits } from './limits.js';
import { MAX_CROP_COORDINATE, MAX_WATERMARK_TEXT, NAME_PATTERN } from './rules.js';

export const FITS = ['inside', 'outside', 'cover', 'contain', 'fill'] as const;
export type Fit = (typeof FITS)[number];

export const POSITIONS = [
  'center', 'top', 'right-top', 'right', 'right-bottom', 'bottom', 'left-bottom', 'left', 'left-top',
  'entropy', 'attention',
] as const;
export type Position = (typeof POSITIONS)[number];

export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Compass anchors (Alibaba OSS spelling): where a crop or a watermark is measured from. */
export const GRAVITIES = ['nw', 'n', 'ne', 'w', 'c', 'e', 'sw', 's', 'se'] as const;
export type Gravity = (typeof GRAVITIES)[number];

/** Clockwise degrees, 0 … 359; quarter turns are exact, other angles enlarge the canvas (filled with `bg`). */
export type Rotation = number;
export type QuarterTurn = 0 | 90 | 180 | 270;
export type Flip = 'h' | 'v' | 'hv';
/** `x, y, width, height` of the upright original, in pixels. */
export type CropBox = readonly [x: number, y: number, width: number, height: number];
/** Slices of `size` pixels along an axis; keep slice `index` (OSS indexcrop). */
export type IndexCrop = readonly [axis: 'x' | 'y', size: number, index: number];

export interface ParamDoc {
  /** The values column, in Markdown. */
  readonly values: string;
  readonly default: string;
  readonly meaning: string;
}

export interface ParamRow<T> {
  /** From the query string's text to the typed value, with the problems' wording. */
  readonly schema: (limits: TransformLimits) => z.ZodType<T, string>;
  /** A value that changes nothing: accepted, and left out of the variant key. */
  readonly neutral?: NoInfer<T>;
  /** A preset may set it, and may let requests override it. */
  readonly inPresets: boolean;
  readonly doc: ParamDoc;
}

/** How a value is read, and how the README describes what it may be. */
interface ValueKind<T> {
  readonly schema: (limits: TransformLimits) => z.ZodType<T, string>;
  readonly values: string;
}

const range = (min: number, max: number) => z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

/**
 * A number in its one spelling (`String(Number(v)) === v`): `w=0100`, `dpr=2.0` and `bri=-0` would
 * be more CDN entries of one image, so they are refused, naming the spelling to use.
 */
const numeric = (pattern: RegExp, message: string, min: number, max: number) =>
  z
    .string()
    .regex(pattern, { error: message, abort: true })
    .superRefine((v, ctx) => {
      if (String(Number(v)) !== v) ctx.addIssue({ code: 'custom', message: `must be written as ${Number(v)}`, continue: false });
    })
    .transform(Number)
    .pipe(range(min, max));

/** A whole number, without sign. */
const wholeNumber = (min: number, max: number) => numeric(/^\d{1,6}$/, 'must be a whole number', min, max);

const integer = (min: number, max: number): ValueKind<number> => ({ schema: () => wholeNumber(min, max), values: `${min} … ${max}` });

const signed = (min: number, max: number): ValueKind<number> => ({
  schema: () => numeric(/^-?\d{1,3}$/, 'must be a whole number', min, max),
  values: `${min} … ${max}`,
});

/** At most two decimals: enough for DPR 1.5 or sigma 0.75, few spellings. */
const twoDecimals = (min: number, max: number) => numeric(/^\d{1,5}(\.\d{1,2})?$/, 'must be a number with at most two decimals', min, max);

const decimal = (min: number, max: number): ValueKind<number> => ({ schema: () => twoDecimals(min, max), values: `${min} … ${max}` });

const flag: ValueKind<boolean> = { schema: () => z.enum(['0', '1'], 'must be 0 or 1').transform((v) => v === '1'), values: '`0`, `1`' };

const choice = <const T extends readonly [string, ...string[]]>(values: T): ValueKind<T[number]> => ({
  schema: () => z.enum(values, `must be one of ${values.join(', ')}`),
  values: values.map((v) => `\`${v}\``).join(', '),
});

/** An output side: 1 up to the configured cap. */
const outputSide: ValueKind<number> = { schema: (l) => wholeNumber(1, l.maxOutputDimension), values: '1 … `ORIGIN_MAX_OUTPUT_DIMENSION`' };

/** `auto` (resolved from client hints) or a value of `kind`, whose problems are reported as its own. */
const orAuto = <T>(kind: ValueKind<T>): ValueKind<T | 'auto'> => ({
  schema: (l) => {
    const inner = kind.schema(l);
    return z.string().transform((v, ctx): T | 'auto' => {
      if (v === 'auto') return 'auto';
      const result = inner.safeParse(v);
      if (result.success) return result.data;
      for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
      return z.NEVER;
    });
  },
  values: `${kind.values}, or \`auto\``,
});

/** Any other value: its own schema and description. */
const custom = <T>(values: string, schema: () => z.ZodType<T, string>): ValueKind<T> => ({ schema, values });

function normalizeHexColour(value: string): string {
  const hex = value.toLowerCase();
  const long = hex.length <= 4 ? [...hex].map((c) => c + c).join('') : hex;
  return long.length === 8 && long.endsWith('ff') ? long.slice(0, 6) : long;
}

interface RowOptions<T> {
  /** The default column; `–` (nothing happens) when absent. */
  readonly default?: string;
  readonly neutral?: NoInfer<T>;
  readonly inPresets?: boolean;
}

/** One row: how its value is read, what it means, and the options above; typed by its kind. */
function row<T>(kind: ValueKind<T>, meaning: string, options: RowOptions<T> = {}): ParamRow<T> {
  const { default: fallback = '–', inPresets = true, neutral } = options;
  return { schema: kind.schema, inPresets, ...(neutral !== undefined && { neutral }), doc: { values: kind.values, default: fallback, meaning } };
}

const cropBox = custom('`x,y,w,h`', () =>
  z
    .string()
    .regex(/^(0|[1-9]\d{0,5})(,(0|[1-9]\d{0,5})){3}$/, 'must be x,y,w,h in whole pixels, without leading zeros')
    .transform((v) => v.split(',').map(Number) as unknown as CropBox)
    .refine(([, , w, h]) => w >= 1 && h >= 1, 'w and h must be at least 1')
    .refine((box) => box.every((n) => n <= MAX_CROP_COORDINATE), `values must be at most ${MAX_CROP_COORDINATE}`),
);

const slices = custom('`x,size,index` or `y,size,index`', () =>
  z
    .string()
    .regex(/^[xy],(0|[1-9]\d{0,5}),(0|[1-9]\d{0,3})$/, 'must be x|y,size,index without leading zeros (e.g. x,200,1)')
    .transform((v): IndexCrop => {
      const [axis, size, index] = v.split(',');
      return [axis === 'x' ? 'x' : 'y', Number(size), Number(index)];
    })
    .refine(([, size]) => size >= 1, 'size must be at least 1'),
);

const hexColour = custom('hex `rgb`, `rgba`, `rrggbb`, `rrggbbaa` (no `#`)', () =>
  z
    .string()
    .regex(/^([0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/i, 'must be a hex colour: rgb, rgba, rrggbb or rrggbbaa')
    .transform(normalizeHexColour),
);

// Pango renders whatever it gets; keep it to one short line of text.
const line = custom(`text, up to ${MAX_WATERMARK_TEXT} characters`, () =>
  z
    .string()
    .min(1)
    .max(MAX_WATERMARK_TEXT, `must be 1-${MAX_WATERMARK_TEXT} characters`)
    .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters'),
);

// `jpg` is the spelling people type; it is the same variant as `jpeg`.
const format = custom('`auto`, `jpeg` (`jpg`), `png`, `webp`, `avif`, `gif`', () =>
  z
    .enum([...OUTPUT_FORMATS, 'jpg', 'auto'], `must be one of ${OUTPUT_FORMATS.join(', ')}, auto`)
    .transform((v): OutputFormat | 'auto' => (v === 'jpg' ? 'jpeg' : v)),
);

const aspectLimit = custom('`W:H`, `W ≤ H`, in lowest terms (`1:3`, `9:16`)', () =>
  z.string().superRefine((v, ctx) => {
    const problem = aspectProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).transform((v) => v as AspectLimit),
);

const rotation = integer(0, 359);

export const PARAMS = {
  w: row(orAuto(outputSide), 'output width in CSS pixels (multiplied by `dpr`); `auto` reads the client hints', { default: 'original size' }),
  h: row(outputSide, 'output height in CSS pixels (multiplied by `dpr`)', { default: 'original size' }),
  fit: row(choice(FITS), "how the image fits the `w`×`h` box ([sharp's fit](https://sharp.pixelplumbing.com/api-resize)); only matters when both `w` and `h` are set", {
    default: '`inside`',
  }),
  pos: row(choice(POSITIONS), 'which part `cover` keeps / where `contain` places the image; `entropy` and `attention` find the interesting part', {
    default: '`center`',
  }),
  dpr: row(
    orAuto(custom('1 … 4, up to two decimals', () => twoDecimals(1, 4))),
    'device pixel ratio: multiplies `w` and `h`; the result is still capped (both sides by one factor, so the aspect ratio holds); `auto` reads the client hints',
    { default: '1' },
  ),
  enlarge: row(flag, "allow upscaling beyond the original's size (vector sources are re-drawn, not blown up)", { default: '`0`' }),
  scale: row(integer(1, 1000), 'resize to this percentage of the (cropped) original (above 100 only with `enlarge=1`); not with `w`/`h`'),
  crop: row(cropBox, 'region of the upright original to keep, before everything else; clamped to the image, refused when it misses it'),
  cropg: row(choice(GRAVITIES), 'anchor of `crop`: its `x,y` are measured inward from that corner, edge or the centre', { default: '`nw`', neutral: 'nw' }),
  maxar: row(
    aspectLimit,
    "most elongated shape kept, both ways (`1:3`: at most 3× taller than wide or 3× wider than tall): a taller image keeps its top, a wider one its centre; cut from the upright original after `crop`/`icrop`, before `rot` and the resize",
  ),
  icrop: row(slices, 'cut the image into slices of `size` pixels along x or y and keep slice `index` (from 0); an index past the end keeps the whole image'),
  rot: row(rotation, 'clockwise rotation in degrees, after EXIF orientation (always applied first); other than quarter turns the canvas grows to hold the turned image, filled with `bg`', { default: '`0`' }),
  flip: row(choice(['h', 'v', 'hv']), 'mirror left-right, top-bottom, or both (after `rot`)'),
  round: row(integer(1, 4096), 'rounded corners of this radius (output pixels), transparent outside'),
  circle: row(integer(1, 4096), 'keep the centred circle of this radius: the output is the centred `2r` square (at most the short side), transparent outside'),
  // libvips' blur cost grows with sigma; 100 already erases any feed-sized image.
  blur: row(decimal(0.3, 100), 'Gaussian blur sigma'),
  sharpen: row(decimal(0.3, 10), 'sharpening sigma'),
  bri: row(signed(-100, 100), 'brightness: shifts colours by up to ±255', { default: '0', neutral: 0 }),
  con: row(signed(-100, 100), 'contrast: scales the distance from mid-grey by 0…2', { default: '0', neutral: 0 }),
  sat: row(signed(-100, 100), 'saturation: -100 is greyscale, 100 doubles it', { default: '0', neutral: 0 }),
  wm: row(custom("a watermark's name", () => z.string().regex(NAME_PATTERN, 'must be a watermark name')), 'stamp a named watermark (see "Watermarks")'),
  wmt: row(line, 'stamp this text (styled by `wm` if it names a text watermark, or in the text part of a row watermark); signed URLs only, unless `ORIGIN_PUBLIC_TEXT_WATERMARK` (then up to 64 bytes unsigned)', { inPresets: false }),
  bg: row(hexColour, 'padding colour for `fit=contain`, and the colour alpha is flattened onto for JPEG', {
    default: 'white, or transparent when the source has alpha',
  }),
  anim: row(flag, 'keep all frames of an animated GIF/WebP when the output can animate (GIF, WebP); otherwise the first frame', { default: '`0`' }),
  fm: row(format, 'output format, see below', { default: '`auto`' }),
  q: row(integer(1, 100), 'quality of lossy formats; ignored (and dropped from the variant key) for PNG and GIF', { default: 'chosen per image to meet the quality target' }),
  dl: row(
    custom(`a file name, up to ${MAX_FILE_NAME} characters`, () => z.string().transform(sanitizeFileName).refine((v) => v !== '', 'must be a file name')),
    'answer as a download (`Content-Disposition: attachment`) under this name; `/`, `\\` become `_`, control characters are dropped',
  ),
} as const;

export type ParamName = keyof typeof PARAMS;
export type ParamValue<K extends ParamName> = (typeof PARAMS)[K] extends ParamRow<infer T> ? T : never;

/** What the client asked for, validated; every parameter optional, defaults not yet filled. */
export type RequestedSpec = { readonly [K in ParamName]?: ParamValue<K> };

export const PARAM_NAMES = Object.keys(PARAMS) as ParamName[];

/** The parameters a preset may set or let requests override. */
export const PRESET_PARAMS = PARAM_NAMES.filter((name) => PARAMS[name].inPresets);

/**
 * The one spelling of a value in a URL and in the variant key: numbers as JavaScript writes them
 * (`1.5`, never `1.50`), flags as `0`/`1`, tuples joined with commas.
 */
export function spell(value: string | number | boolean | readonly (string | number)[]): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
