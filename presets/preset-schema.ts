/**
 * The preset file format, validated with zod at start-up. A preset names a variant an app asks
 * for by name (`?preset=thumb`): its parameters (in the query's own spelling), which parameters a
 * request may still override, and optionally its own `Cache-Control` and qualities per format.
 */
import { z } from 'zod';
import type { SpecParam } from '../transforms/spec.js';

/** Parameter names a preset may set or let requests override (everything but `preset` itself). */
export const PRESET_PARAMS = [
  'w', 'h', 'fit', 'pos', 'dpr', 'enlarge', 'q', 'fm', 'rot', 'flip', 'blur', 'sharpen', 'bg', 'crop', 'anim',
] as const satisfies readonly SpecParam[];

const paramName = z.enum(PRESET_PARAMS, `must be one of ${PRESET_PARAMS.join(', ')}`);
const quality = z.number().int().min(1).max(100);

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
  })
  .strict();

export const presetFileSchema = z.record(
  z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'preset names are 1-64 of a-z, 0-9, _ and -, starting with a letter or digit'),
  presetSchema,
);

/** A preset file as written (the input side of the schema). */
export type PresetFile = z.input<typeof presetFileSchema>;
