/**
 * How images are delivered to browsers beyond the variant itself: the fallback image answered
 * for a missing source, and CORS for pages that draw images onto a canvas. Its variables are
 * part of the one environment schema (`config.ts`), validated at start-up.
 */
import * as z from 'zod';
import { sourceKey } from '../presets/preset-schema.js';
import { int } from './env-values.js';

export interface FallbackConfig {
  /** The image answered for a missing source; a preset's own `fallback` wins. Unset: 404 as usual. */
  readonly key?: string;
  /** Status of fallback answers: 404 keeps "missing" visible to crawlers and apps, 200 hides it. */
  readonly status: 200 | 404;
  /** Short, so a source uploaded later replaces the fallback soon. */
  readonly cacheControl: string;
}

export interface CorsConfig {
  /** `*`, or the origins (`scheme://host[:port]`) that get `Access-Control-Allow-Origin`. */
  readonly origins: '*' | readonly string[];
  /** How long browsers keep a preflight answer, in seconds. */
  readonly maxAgeSeconds: number;
}

export interface DeliveryConfig {
  readonly fallback: FallbackConfig;
  /** Undefined: no CORS headers, and OPTIONS is 405 like any other method. */
  readonly cors?: CorsConfig;
}

/** `https://app.example.com`: a scheme, a host and maybe a port, nothing else (the `Origin` header's form). */
const ORIGIN_FORM = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/;

const corsOrigins = z
  .string()
  .transform((v) => v.split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(
    z.union([
      z.tuple([z.literal('*')]).transform(() => '*' as const),
      z.array(z.string().toLowerCase().regex(ORIGIN_FORM, 'each must be *, alone, or an origin like https://app.example.com')).min(1),
    ]),
  );

/** The variables read here; spread into the one environment schema of `config.ts`. */
export const DELIVERY_ENV = {
  ORIGIN_FALLBACK: sourceKey.optional(),
  ORIGIN_FALLBACK_STATUS: z.enum(['200', '404'], 'must be 200 or 404').default('404').transform((v) => (v === '200' ? 200 : 404)),
  ORIGIN_FALLBACK_CACHE_CONTROL: z.string().min(1).default('public, max-age=60'),
  ORIGIN_CORS_ORIGINS: corsOrigins.optional(),
  ORIGIN_CORS_MAX_AGE_SECONDS: int(0, 86_400).default(86_400),
};

type DeliveryEnv = Readonly<z.output<z.ZodObject<typeof DELIVERY_ENV>>>;

export function parseDeliveryConfig(e: DeliveryEnv): DeliveryConfig {
  return {
    fallback: {
      ...(e.ORIGIN_FALLBACK !== undefined && { key: e.ORIGIN_FALLBACK }),
      status: e.ORIGIN_FALLBACK_STATUS,
      cacheControl: e.ORIGIN_FALLBACK_CACHE_CONTROL,
    },
    ...(e.ORIGIN_CORS_ORIGINS !== undefined && { cors: { origins: e.ORIGIN_CORS_ORIGINS, maxAgeSeconds: e.ORIGIN_CORS_MAX_AGE_SECONDS } }),
  };
}
