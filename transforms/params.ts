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
import { z } from 'zod';
import type { TransformLimits } from './limits.js';
import { MAX_CROP_COORDINATE, MAX_WATERMARK_TEXT, NAME_PATTERN } from './rules.js';

export const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const;
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

export type Rotation = 0 | 90 | 180 | 270;
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

const range = (min: number, max: number) => z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

/** A whole number, without sign or leading zeros beyond `0` itself. */
const integer = (min: number, max: number) =>
  z.string().regex(/^\d{1,6}$/, 'must be a whole number').transform(Number).pipe(range(min, max));

const signed = (min: number, max: number) =>
  z.string().regex(/^-?\d{1,3}$/, 'must be a whole number').transform(Number).pipe(range(min, max));

/** At most two decimals: enough for DPR 1.5 or sigma 0.75, few spellings. */
const decimal = (min: number, max: number) =>
  z.string().regex(/^\d{1,5}(\.\d{1,2})?$/, 'must be a number with at most two decimals').transform(Number).pipe(range(min, max));

const flag = z.enum(['0', '1'], 'must be 0 or 1').transform((v) => v === '1');

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, `must be one of ${values.join(', ')}`);

/** `auto` (resolved from client hints) or a value the given schema accepts. */
const orAuto = <T>(schema: z.ZodType<T, string>) => z.union([z.literal('auto'), schema]);

function normalizeHexColour(value: string): string {
  const hex = value.toLowerCase();
  const long = hex.length <= 4 ? [...hex].map((c) => c + c).join('') : hex;
  return long.length === 8 && long.endsWith('ff') ? long.slice(0, 6) : long;
}

/** Types the row's value from its schema, so the table stays the only declaration. */
const row = <T>(definition: ParamRow<T>): ParamRow<T> => definition;

export const PARAMS = {
  w: row({
    schema: (l) => orAuto(integer(1, l.maxOutputDimension)),
    inPresets: true,
    doc: { values: '1 … `ORIGIN_MAX_OUTPUT_DIMENSION`, or `auto`', default: 'original size', meaning: 'output width in CSS pixels (multiplied by `dpr`); `auto` reads the client hints' },
  }),
  h: row({
    schema: (l) => integer(1, l.maxOutputDimension),
    inPresets: true,
    doc: { values: '1 … `ORIGIN_MAX_OUTPUT_DIMENSION`', default: 'original size', meaning: 'output height in CSS pixels (multiplied by `dpr`)' },
  }),
  fit: row({
    schema: () => oneOf(FITS),
    inPresets: true,
    doc: { values: '`inside`, `outside`, `cover`, `contain`, `fill`', default: '`inside`', meaning: "how the image fits the `w`×`h` box ([sharp's fit](https://sharp.pixelplumbing.com/api-resize)); only matters when both `w` and `h` are set" },
  }),
  pos: row({
    schema: () => oneOf(POSITIONS),
    inPresets: true,
    doc: { values: '`center`, `top`, `right-top`, `right`, `right-bottom`, `bottom`, `left-bottom`, `left`, `left-top`, `entropy`, `attention`', default: '`center`', meaning: 'which part `cover` keeps / where `contain` places the image; `entropy` and `attention` find the interesting part' },
  }),
  dpr: row({
    schema: () => orAuto(decimal(1, 4)),
    inPresets: true,
    doc: { values: '1 … 4, up to two decimals, or `auto`', default: '1', meaning: 'device pixel ratio: multiplies `w` and `h`; the result is still capped (both sides by one factor, so the aspect ratio holds); `auto` reads the client hints' },
  }),
  enlarge: row({
    schema: () => flag,
    inPresets: true,
    doc: { values: '`0`, `1`', default: '`0`', meaning: "allow upscaling beyond the original's size (vector sources are re-drawn, not blown up)" },
  }),
  scale: row({
    schema: () => integer(1, 1000),
    inPresets: true,
    doc: { values: '1 … 1000', default: '–', meaning: 'resize to this percentage of the (cropped) original; not with `w`/`h`' },
  }),
  crop: row({
    schema: () =>
      z
        .string()
        .regex(/^\d{1,6},\d{1,6},\d{1,6},\d{1,6}$/, 'must be x,y,w,h in whole pixels')
        .transform((v) => v.split(',').map(Number) as unknown as CropBox)
        .refine(([, , w, h]) => w >= 1 && h >= 1, 'w and h must be at least 1')
        .refine((box) => box.every((n) => n <= MAX_CROP_COORDINATE), `values must be at most ${MAX_CROP_COORDINATE}`),
    inPresets: true,
    doc: { values: '`x,y,w,h`', default: '–', meaning: 'region of the upright original to keep, before everything else; clamped to the image, refused when it misses it' },
  }),
  cropg: row({
    schema: () => oneOf(GRAVITIES),
    neutral: 'nw',
    inPresets: true,
    doc: { values: '`nw`, `n`, `ne`, `w`, `c`, `e`, `sw`, `s`, `se`', default: '`nw`', meaning: 'anchor of `crop`: its `x,y` are measured inward from that corner, edge or the centre' },
  }),
  icrop: row({
    schema: () =>
      z
        .string()
        .regex(/^[xy],\d{1,6},\d{1,4}$/, 'must be x|y,size,index (e.g. x,200,1)')
        .transform((v): IndexCrop => {
          const [axis, size, index] = v.split(',');
          return [axis === 'x' ? 'x' : 'y', Number(size), Number(index)];
        })
        .refine(([, size]) => size >= 1, 'size must be at least 1'),
    inPresets: true,
    doc: { values: '`x,size,index` or `y,size,index`', default: '–', meaning: 'cut the image into slices of `size` pixels along x or y and keep slice `index` (from 0); an index past the end keeps the whole image' },
  }),
  rot: row({
    schema: () => z.enum(['0', '90', '180', '270'], 'must be 0, 90, 180 or 270').transform((v) => Number(v) as Rotation),
    inPresets: true,
    doc: { values: '`0`, `90`, `180`, `270`', default: '`0`', meaning: 'clockwise rotation, after EXIF orientation (always applied first)' },
  }),
  flip: row({
    schema: () => oneOf(['h', 'v', 'hv']),
    inPresets: true,
    doc: { values: '`h`, `v`, `hv`', default: '–', meaning: 'mirror left-right, top-bottom, or both (after `rot`)' },
  }),
  round: row({
    schema: () => integer(1, 4096),
    inPresets: true,
    doc: { values: '1 … 4096', default: '–', meaning: 'rounded corners of this radius (output pixels), transparent outside' },
  }),
  circle: row({
    schema: () => integer(1, 4096),
    inPresets: true,
    doc: { values: '1 … 4096', default: '–', meaning: 'keep the centred circle of this radius: the output is the centred `2r` square (at most the short side), transparent outside' },
  }),
  // libvips' blur cost grows with sigma; 100 already erases any feed-sized image.
  blur: row({
    schema: () => decimal(0.3, 100),
    inPresets: true,
    doc: { values: '0.3 … 100', default: '–', meaning: 'Gaussian blur sigma' },
  }),
  sharpen: row({
    schema: () => decimal(0.3, 10),
    inPresets: true,
    doc: { values: '0.3 … 10', default: '–', meaning: 'sharpening sigma' },
  }),
  bri: row({
    schema: () => signed(-100, 100),
    neutral: 0,
    inPresets: true,
    doc: { values: '-100 … 100', default: '0', meaning: 'brightness: shifts colours by up to ±255' },
  }),
  con: row({
    schema: () => signed(-100, 100),
    neutral: 0,
    inPresets: true,
    doc: { values: '-100 … 100', default: '0', meaning: 'contrast: scales the distance from mid-grey by 0…2' },
  }),
  sat: row({
    schema: () => signed(-100, 100),
    neutral: 0,
    inPresets: true,
    doc: { values: '-100 … 100', default: '0', meaning: 'saturation: -100 is greyscale, 100 doubles it' },
  }),
  wm: row({
    schema: () => z.string().regex(NAME_PATTERN, 'must be a watermark name'),
    inPresets: true,
    doc: { values: "a watermark's name", default: '–', meaning: 'stamp a named watermark (see "Watermarks")' },
  }),
  // Pango renders whatever it gets; keep it to one short line of text.
  wmt: row({
    schema: () =>
      z
        .string()
        .min(1)
        .max(MAX_WATERMARK_TEXT, `must be 1-${MAX_WATERMARK_TEXT} characters`)
        .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters'),
    inPresets: false,
    doc: { values: `text, up to ${MAX_WATERMARK_TEXT} characters`, default: '–', meaning: 'stamp this text (styled by `wm` if it names a text watermark); signed URLs only' },
  }),
  bg: row({
    schema: () =>
      z
        .string()
        .regex(/^([0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/i, 'must be a hex colour: rgb, rgba, rrggbb or rrggbbaa')
        .transform(normalizeHexColour),
    inPresets: true,
    doc: { values: 'hex `rgb`, `rgba`, `rrggbb`, `rrggbbaa` (no `#`)', default: 'white, or transparent when the source has alpha', meaning: 'padding colour for `fit=contain`, and the colour alpha is flattened onto for JPEG' },
  }),
  anim: row({
    schema: () => flag,
    inPresets: true,
    doc: { values: '`0`, `1`', default: '`0`', meaning: 'keep all frames of an animated GIF/WebP when the output can animate (GIF, WebP); otherwise the first frame' },
  }),
  // `jpg` is the spelling people type; it is the same variant as `jpeg`.
  fm: row({
    schema: () =>
      z
        .enum([...OUTPUT_FORMATS, 'jpg', 'auto'], `must be one of ${OUTPUT_FORMATS.join(', ')}, auto`)
        .transform((v): OutputFormat | 'auto' => (v === 'jpg' ? 'jpeg' : v)),
    inPresets: true,
    doc: { values: '`auto`, `jpeg` (`jpg`), `png`, `webp`, `avif`, `gif`', default: '`auto`', meaning: 'output format, see below' },
  }),
  q: row({
    schema: () => integer(1, 100),
    inPresets: true,
    doc: { values: '1 … 100', default: 'JPEG 80, WebP 80, AVIF 50', meaning: 'quality of lossy formats; ignored (and dropped from the variant key) for PNG and GIF' },
  }),
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
