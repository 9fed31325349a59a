/** The kinds of value environment variables hold, shared by the parts of the config schema. */
import * as z from 'zod';

/** A whole number in [min, max], written in decimal. */
export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** `true`/`false`/`1`/`0`. */
export const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
