/**
 * The transform parameters a client may send, and their validation. `createSpecParser(limits)`
 * turns a raw query string into a typed `TransformSpec`, or throws `InvalidRequestError` (400)
 * listing every problem: unknown, repeated and out-of-range parameters are all refused, because
 * each accepted spelling is another variant a CDN would have to store.
 */
import { z } from 'zod';
import { InvalidRequestError, type Problem } from './errors.js';
import type { TransformLimits } from './limits.js';

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

/** A region of the upright original, in pixels. */
export interface CropRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
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

/** Largest crop coordinate accepted: beyond any image that passes the input pixel limit's side. */
const MAX_CROP_COORDINATE = 100_000;

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
    if (problems.length > 0) throw new InvalidRequestError(dedupeProblems(problems));
    const v = values as Partial<{ [K in SpecParam]: z.output<(typeof schemas)[K]> }>;
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
      ...(v.crop !== undefined && { crop: v.crop }),
      animated: v.anim ?? false,
    };
  };
}

/** A parameter repeated ten times is one problem, not ten. */
function dedupeProblems(problems: Problem[]): Problem[] {
  const unique = new Map(problems.map((p) => [`${p.param}\0${p.message}`, p]));
  return [...unique.values()];
}
