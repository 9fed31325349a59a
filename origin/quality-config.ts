/**
 * How variants' quality is chosen (README: "Quality and bytes"): one quality target for every
 * format, met per image by autoquality within a range per format. Its variables are part of the
 * one environment schema (`config.ts`), validated at start-up.
 */
import * as z from 'zod';
import { DEFAULT_QUALITY_TARGET, LOSSY_FORMATS, type LossyFormat } from '../transforms/formats.js';
import { bool, int } from './env-values.js';

export interface QualityRange {
  readonly min: number;
  readonly max: number;
}

export interface QualityConfig {
  /** The SSIMULACRA2 score variants aim at when neither the request nor its preset fixes a quality. */
  readonly target: number;
  /**
   * Measure each original's quality per format on a small probe (else: the calibrated quality),
   * for requests whose preset does not say. Off: measured, it evens out quality but costs bytes
   * at equal mean score and CPU (README: "Quality and bytes").
   */
  readonly autoQuality: boolean;
  /** Autoquality stays within these, so no image falls below a floor or balloons. */
  readonly ranges: Readonly<Record<LossyFormat, QualityRange>>;
}

export const DEFAULT_QUALITY_RANGES = 'jpeg:50-92,webp:50-92,avif:35-85';

const RANGE = /^(jpeg|webp|avif):(\d{1,3})-(\d{1,3})$/;

const ranges = z.string().transform((value, ctx): Record<LossyFormat, QualityRange> => {
  const table: Partial<Record<LossyFormat, QualityRange>> = {};
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = RANGE.exec(part);
    const [min, max] = match ? [Number(match[2]), Number(match[3])] : [NaN, NaN];
    if (!match || min < 1 || max > 100 || min > max) {
      ctx.addIssue({ code: 'custom', message: `"${part}": each must be format:min-max with 1 ≤ min ≤ max ≤ 100 (jpeg, webp, avif)` });
      return z.NEVER;
    }
    const format = match[1] as LossyFormat;
    if (table[format]) {
      ctx.addIssue({ code: 'custom', message: `${format} is given twice` });
      return z.NEVER;
    }
    table[format] = { min, max };
  }
  const missing = LOSSY_FORMATS.filter((f) => !table[f]);
  if (missing.length > 0) {
    ctx.addIssue({ code: 'custom', message: `must name every lossy format; missing ${missing.join(', ')}` });
    return z.NEVER;
  }
  return table as Record<LossyFormat, QualityRange>;
});

/** The variables read here; spread into the one environment schema of `config.ts`. */
export const QUALITY_ENV = {
  ORIGIN_QUALITY_TARGET: int(30, 100).default(DEFAULT_QUALITY_TARGET),
  ORIGIN_AUTOQUALITY: bool.default(false),
  ORIGIN_QUALITY_RANGES: ranges.default(ranges.parse(DEFAULT_QUALITY_RANGES)),
};

type QualityEnv = Readonly<z.output<z.ZodObject<typeof QUALITY_ENV>>>;

export function parseQualityConfig(e: QualityEnv): QualityConfig {
  return { target: e.ORIGIN_QUALITY_TARGET, autoQuality: e.ORIGIN_AUTOQUALITY, ranges: e.ORIGIN_QUALITY_RANGES };
}
