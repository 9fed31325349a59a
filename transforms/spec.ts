/**
 * The transform parameters a client may send, and their validation. `createSpecParser(limits)`
 * turns a raw query string into a typed `TransformSpec`, or throws `InvalidRequestError` (400)
 * listing every problem: unknown, repeated and out-of-range parameters are all refused, because
 * each accepted spelling is another variant a CDN would have to store.
 */
import { z } from 'zod';
import { InvalidRequestError, type Problem } from './errors.js';
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

export type Rotation = 0 | 90 | 180 | 270;
export type Flip = 'h' | 'v' | 'hv';

/** Compass anchors (Alibaba OSS spelling): where a crop or a watermark is measured from. */
export const GRAVITIES = ['nw', 'n', 'ne', 'w', 'c', 'e', 'sw', 's', 'se'] as const;
export type Gravity = (typeof GRAVITIES)[number];

/** A region of the upright original, in pixels, offset from `gravity` (default the top-left corner). */
export interface CropRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly gravity?: Gravity;
}

/** Cuts the image into slices of `size` pixels along an axis and keeps slice `index` (OSS indexcrop). */
export interface IndexCrop {
  readonly axis: 'x' | 'y';
  readonly size: number;
  readonly index: number;
}

/** Qualities per lossy format, from a preset; a request's own `q` wins over them. */
export type QualityTable = Readonly<Partial<Record<'jpeg' | 'webp' | 'avif', number>>>;

/** What the client asked for, validated, client hints resolved, not yet defaulted against a format or an image. */
export interface TransformSpec {
  readonly width?: number;
  readonly height?: number;
  readonly fit: Fit;
  readonly position: Position;
  readonly dpr: number;
  readonly enlarge: boolean;
  readonly quality?: number;
  /** `auto` asks the origin to pick from the client's `Accept` header. */
  readonly format: OutputFormat | 'auto';
  readonly rotate: Rotation;
  readonly flip?: Flip;
  /** Gaussian blur sigma. */
  readonly blur?: number;
  /** Sharpening sigma. */
  readonly sharpen?: number;
  /** Lower-case `rrggbb` or `rrggbbaa`. */
  readonly background?: string;
  readonly crop?: CropRegion;
  readonly indexCrop?: IndexCrop;
  /** Resize to this percentage of the (cropped) original instead of a `w`/`h` box. */
  readonly scalePercent?: number;
  /** Rounded corners of the output, radius in output pixels. */
  readonly cornerRadius?: number;
  /** Keep a centred circle of this radius (output pixels), transparent outside. */
  readonly circleRadius?: number;
  /** -100 … 100, 0 unchanged. */
  readonly brightness?: number;
  /** -100 … 100, 0 unchanged. */
  readonly contrast?: number;
  /** A named watermark (resolved against the watermarks of the preset file). */
  readonly watermark?: string;
  /** Free text for a text watermark; only accepted on signed URLs. */
  readonly watermarkText?: string;
  readonly animated: boolean;
  /** From the preset, not the query. */
  readonly qualities?: QualityTable;
  /** The client sent `Save-Data: on` and asked for client hints: lower quality. */
  readonly saveData?: boolean;
}

/** As parsed from the query: `w=auto` and `dpr=auto` still wait for the client hints. */
export type RequestedSpec = Omit<TransformSpec, 'width' | 'dpr'> & {
  readonly width?: number | 'auto';
  readonly dpr: number | 'auto';
};

/** Decimal number with at most two decimals: enough for DPR 1.5 or sigma 0.75, few spellings. */
const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,5}(\.\d{1,2})?$/, 'must be a number with at most two decimals')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const flag = z.enum(['0', '1'], 'must be 0 or 1').transform((v) => v === '1');

/** `auto` (resolved from client hints) or a value the given schema accepts. */
const orAuto = <T>(schema: z.ZodType<T, string>) => z.union([z.literal('auto'), schema]);


const signed = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,3}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

function createParamSchemas(limits: TransformLimits) {
  return {
    w: orAuto(integer(1, limits.maxOutputDimension)),
    h: integer(1, limits.maxOutputDimension),
    fit: z.enum(FITS, `must be one of ${FITS.join(', ')}`),
    pos: z.enum(POSITIONS, `must be one of ${POSITIONS.join(', ')}`),
    dpr: orAuto(decimal(1, 4)),
    enlarge: flag,
    q: integer(1, 100),
    // `jpg` is the spelling people type; it is the same variant as `jpeg`.
    fm: z
      .enum([...OUTPUT_FORMATS, 'jpg', 'auto'], `must be one of ${OUTPUT_FORMATS.join(', ')}, auto`)
      .transform((v) => (v === 'jpg' ? 'jpeg' : v)),
    rot: z.enum(['0', '90', '180', '270'], 'must be 0, 90, 180 or 270').transform((v) => Number(v) as Rotation),
    flip: z.enum(['h', 'v', 'hv'], 'must be h, v or hv'),
    // libvips' blur cost grows with sigma; 100 already erases any feed-sized image.
    blur: decimal(0.3, 100),
    sharpen: decimal(0.3, 10),
    bg: z
      .string()
      .regex(/^([0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/i, 'must be a hex colour: rgb, rgba, rrggbb or rrggbbaa')
      .transform(normalizeHexColour),
    crop: z
      .string()
      .regex(/^\d{1,6},\d{1,6},\d{1,6},\d{1,6}$/, 'must be x,y,w,h in whole pixels')
      .transform((v) => v.split(',').map(Number) as [number, number, number, number])
      .refine(([, , w, h]) => w >= 1 && h >= 1, 'w and h must be at least 1')
      .refine((c) => c.every((n) => n <= MAX_CROP_COORDINATE), `values must be at most ${MAX_CROP_COORDINATE}`)
      .transform(([x, y, width, height]): CropRegion => ({ x, y, width, height })),
    cropg: z.enum(GRAVITIES, `must be one of ${GRAVITIES.join(', ')}`),
    icrop: z
      .string()
      .regex(/^[xy],\d{1,6},\d{1,4}$/, 'must be x|y,size,index (e.g. x,200,1)')
      .transform((v): IndexCrop => {
        const [axis, size, index] = v.split(',');
        return { axis: axis as 'x' | 'y', size: Number(size), index: Number(index) };
      })
      .refine((c) => c.size >= 1, 'size must be at least 1'),
    scale: integer(1, 1000),
    round: integer(1, 4096),
    circle: integer(1, 4096),
    bri: signed(-100, 100),
    con: signed(-100, 100),
    wm: z.string().regex(NAME_PATTERN, 'must be a watermark name'),
    // Pango renders whatever it gets; keep it to one short line of text.
    wmt: z.string().min(1).max(MAX_WATERMARK_TEXT, `must be 1-${MAX_WATERMARK_TEXT} characters`).refine(
      (v) => !/[\u0000-\u001f\u007f]/.test(v),
      'must not contain control characters',
    ),
    anim: flag,
  } as const;
}

export type SpecParam = keyof ReturnType<typeof createParamSchemas>;

function normalizeHexColour(value: string): string {
  const hex = value.toLowerCase();
  const long = hex.length <= 4 ? [...hex].map((c) => c + c).join('') : hex;
  return long.length === 8 && long.endsWith('ff') ? long.slice(0, 6) : long;
}

/**
 * Builds the parser once per set of limits (the bounds of `w`/`h` come from config).
 * The parser takes the raw query string (without `?`) so repeated parameters can be seen.
 */
export function createSpecParser(limits: TransformLimits): (query: URLSearchParams) => RequestedSpec {
  const schemas = createParamSchemas(limits);
  const known = new Set<string>(Object.keys(schemas));

  return function parseSpec(query) {
    const problems: Problem[] = [];
    const values: Partial<Record<SpecParam, unknown>> = {};
    const seen = new Set<string>();
    for (const [name, raw] of query) {
      if (!known.has(name)) {
        problems.push({ param: name, message: 'unknown parameter' });
        continue;
      }
      if (seen.has(name)) {
        problems.push({ param: name, message: 'given more than once' });
        continue;
      }
      seen.add(name);
      const result = schemas[name as SpecParam].safeParse(raw);
      if (result.success) values[name as SpecParam] = result.data;
      else problems.push({ param: name, message: result.error.issues.map((i) => i.message).join(', ') });
    }
    const v = values as Partial<{ [K in SpecParam]: z.output<(typeof schemas)[K]> }>;
    problems.push(...combinationProblems(v));
    if (problems.length > 0) throw new InvalidRequestError(dedupeProblems(problems));
    return {
      ...(v.w !== undefined && { width: v.w }),
      ...(v.h !== undefined && { height: v.h }),
      fit: v.fit ?? 'inside',
      position: v.pos ?? 'center',
      dpr: v.dpr ?? 1,
      enlarge: v.enlarge ?? false,
      ...(v.q !== undefined && { quality: v.q }),
      format: v.fm ?? 'auto',
      rotate: v.rot ?? 0,
      ...(v.flip !== undefined && { flip: v.flip }),
      ...(v.blur !== undefined && { blur: v.blur }),
      ...(v.sharpen !== undefined && { sharpen: v.sharpen }),
      ...(v.bg !== undefined && { background: v.bg }),
      ...(v.crop !== undefined && { crop: v.cropg && v.cropg !== 'nw' ? { ...v.crop, gravity: v.cropg } : v.crop }),
      ...(v.icrop !== undefined && { indexCrop: v.icrop }),
      ...(v.scale !== undefined && { scalePercent: v.scale }),
      ...(v.round !== undefined && { cornerRadius: v.round }),
      ...(v.circle !== undefined && { circleRadius: v.circle }),
      ...(v.bri !== undefined && v.bri !== 0 && { brightness: v.bri }),
      ...(v.con !== undefined && v.con !== 0 && { contrast: v.con }),
      ...(v.wm !== undefined && { watermark: v.wm }),
      ...(v.wmt !== undefined && { watermarkText: v.wmt }),
      animated: v.anim ?? false,
    };
  };
}

/** Parameters that are valid alone but contradict each other. */
function combinationProblems(v: Partial<Record<SpecParam, unknown>>): Problem[] {
  const problems: Problem[] = [];
  if (v.cropg !== undefined && v.crop === undefined) problems.push({ param: 'cropg', message: 'needs crop' });
  if (v.icrop !== undefined && v.crop !== undefined) problems.push({ param: 'icrop', message: 'cannot be combined with crop' });
  if (v.scale !== undefined && (v.w !== undefined || v.h !== undefined)) {
    problems.push({ param: 'scale', message: 'cannot be combined with w or h' });
  }
  if (v.round !== undefined && v.circle !== undefined) problems.push({ param: 'round', message: 'cannot be combined with circle' });
  return problems;
}

/** A parameter repeated ten times is one problem, not ten. */
function dedupeProblems(problems: Problem[]): Problem[] {
  const unique = new Map(problems.map((p) => [`${p.param}\0${p.message}`, p]));
  return [...unique.values()];
}
