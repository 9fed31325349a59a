/**
 * The preset file format, validated with zod at start-up: `{ "presets": {…}, "watermarks": {…} }`.
 * A preset names a variant an app asks for by name (`?preset=thumb`): its parameters (in the
 * query's own spelling), which parameters a request may still override, and optionally its own
 * `Cache-Control` and qualities per format. A watermark names a logo or a text stamp (`wm=brand`).
 */
import * as z from 'zod';
import { GRAVITIES, PRESET_PARAMS, type ParamName } from '../transforms/params.js';
import { NAME_PATTERN, NAME_RULE, sourceKeyProblem } from '../transforms/rules.js';
import { DEFAULT_WATERMARK_FONT, type RowPart, type Watermark } from '../transforms/watermark.js';

const paramName = z.enum(PRESET_PARAMS as [ParamName, ...ParamName[]], `must be one of ${PRESET_PARAMS.join(', ')}`);
const quality = z.number().int().min(1).max(100);

/** A source key in the same spelling as a request path without its leading slash. */
export const sourceKey = z.string().superRefine((key, ctx) => {
  const problem = sourceKeyProblem(key);
  if (problem) ctx.addIssue({ code: 'custom', message: `not a source key: ${problem}` });
});

export const presetSchema = z
  .object({
    /** Values as they would appear in a query string; numbers and booleans are accepted for convenience. */
    params: z.partialRecord(
      paramName,
      z.union([z.string(), z.number(), z.boolean()]).transform((v) => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v))),
    ),
    overridable: z.array(paramName).default([]),
    cacheControl: z.string().min(1).optional(),
    quality: z.object({ jpeg: quality, webp: quality, avif: quality }).partial().strict().optional(),
    /** The preset's own quality target (SSIMULACRA2 score), instead of ORIGIN_QUALITY_TARGET. */
    qualityTarget: z.number().int().min(30).max(100).optional(),
    /** Meet the target per image (autoquality), instead of ORIGIN_AUTOQUALITY. */
    autoQuality: z.boolean().optional(),
    /** A source key answered (transformed like the request) when the requested source is missing. */
    fallback: sourceKey.optional(),
  })
  .strict();

const placement = {
  gravity: z.enum(GRAVITIES).default('se'),
  /** Share of the output width between the mark and the anchored edges. */
  margin: z.number().min(0).max(0.5).default(0.02),
  opacity: z.number().min(0).max(1).default(0.6),
  tile: z.boolean().default(false),
};

const imageFields = { image: sourceKey, width: z.number().gt(0).max(1).default(0.15) };
const textFields = {
  text: z.string().min(1).max(200),
  font: z.string().min(1).max(100).default(DEFAULT_WATERMARK_FONT),
  /** Text height as a share of the output width. */
  size: z.number().gt(0).max(0.5).default(0.04),
  color: z
    .string()
    .regex(/^[0-9a-fA-F]{6}$/, 'must be rrggbb')
    .transform((c) => c.toLowerCase())
    .default('ffffff'),
  shadow: z.boolean().default(true),
  rotate: z.number().min(-180).max(180).default(0),
};

const imageWatermarkSchema = z
  .object({ ...imageFields, ...placement })
  .strict()
  .transform(({ image, ...rest }): Watermark => ({ kind: 'image', key: image, ...rest }));

const textWatermarkSchema = z
  .object({ ...textFields, ...placement })
  .strict()
  .transform((mark): Watermark => ({ kind: 'text', ...mark }));

const rowPartSchema = z.union([
  z.object(imageFields).strict().transform(({ image, ...rest }): RowPart => ({ kind: 'image', key: image, ...rest })),
  z.object(textFields).strict().transform((part): RowPart => ({ kind: 'text', ...part })),
], 'must be an image ({"image": key, …}) or a text ({"text": …}) part');

/** A logo and a text side by side, placed as one (`wmt` replaces the text): `{"row": [logo, text], …}`. */
const rowWatermarkSchema = z
  .object({
    row: z.tuple([rowPartSchema, rowPartSchema]).refine(
      ([a, b]) => (a.kind === 'image') !== (b.kind === 'image'),
      'must be one image part and one text part',
    ),
    align: z.enum(['top', 'middle', 'bottom']).default('middle'),
    /** Pixels between the parts. */
    interval: z.number().int().min(0).max(1000).default(0),
    ...placement,
  })
  .strict()
  .transform(({ row, ...rest }): Watermark => ({ kind: 'row', parts: row, ...rest }));

export const watermarkSchema = z.union(
  [imageWatermarkSchema, textWatermarkSchema, rowWatermarkSchema],
  'must be an image ({"image": key, …}), a text ({"text": …}) or a row ({"row": [image, text], …}) watermark',
);

const name = z.string().regex(NAME_PATTERN, NAME_RULE);

export const presetFileSchema = z
  .object({
    presets: z.record(name, presetSchema).default({}),
    watermarks: z.record(name, watermarkSchema).default({}),
  })
  .strict();

/** A preset file as written (the input side of the schema). */
export type PresetFile = z.input<typeof presetFileSchema>;
