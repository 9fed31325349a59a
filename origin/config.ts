/**
 * Operator settings, read from the environment once at start-up and validated with zod into one
 * frozen, typed object. Nothing else in the project reads `process.env`. A wrong value stops
 * start-up with a message naming every offending variable (README: "Configuration").
 */
import os from 'node:os';
import path from 'node:path';
import * as z from 'zod';
import { COLOUR_MODES, DEFAULT_LIMITS, type TransformLimits } from '../transforms/limits.js';
import { DEFAULT_ENCODERS, JPEG_ENCODERS, type AvifBitDepth } from '../transforms/formats.js';
import { TRANSFORM_THREAD_NICE } from './load/thread-priority.js';
import { ConfigError } from './config-error.js';
import { DELIVERY_ENV, parseDeliveryConfig, type DeliveryConfig } from './delivery-config.js';
import { parseQualityConfig, QUALITY_ENV, type QualityConfig } from './quality-config.js';
import { bool, int } from './env-values.js';
import { parseServerConfig, SERVER_ENV, type ServerConfig } from './server-config.js';
import { parseSourceConfig, type SourceConfig } from './source-config.js';
import { STYLE_DELIMITERS, type StyleDelimiter } from './request/style-suffix.js';
import { parseStoreConfig, STORE_ENV, type ResultStoreConfig } from './store/store-config.js';
import { FLEET_ENV, parseFleetConfig, type FleetConfig } from './fleet/fleet-config.js';

export type { CorsConfig, DeliveryConfig, FallbackConfig } from './delivery-config.js';
export type { QualityConfig, QualityRange } from './quality-config.js';
export type { ConnectionConfig, RequiredHeader, ServerConfig } from './server-config.js';
export type { SourceConfig } from './source-config.js';
export type { ResultStoreConfig } from './store/store-config.js';
export type { FleetConfig } from './fleet/fleet-config.js';
export { ConfigError } from './config-error.js';

export interface FetchConfig {
  /** Largest source object, in bytes; enforced from Content-Length and while streaming. */
  readonly maxBytes: number;
  readonly connectTimeoutMs: number;
  /** Time allowed until the response headers arrive. */
  readonly headersTimeoutMs: number;
  /** Longest pause allowed between two chunks of the body. */
  readonly bodyTimeoutMs: number;
  /** Longest one storage operation may take in all (connect, headers, whole body): a drip-fed body ends there. */
  readonly totalTimeoutMs: number;
  /** Keep-alive connections kept per storage host. */
  readonly maxConnections: number;
}

/** How much work one process takes on before it degrades and then sheds (README: "Running at peak"). */
export interface LoadConfig {
  /** Transforms running at once. */
  readonly transformConcurrency: number;
  /** Transforms waiting for a slot; one more is answered 503 at once. */
  readonly transformQueue: number;
  /** Longest a transform may wait for a slot (and predicted wait above which 503 comes at once). */
  readonly transformWaitMs: number;
  /** Estimated peak memory the running transforms may need together (transforms/memory-estimate.ts). */
  readonly transformMemoryBytes: number;
  /** Queue depth from which new variants are made the cheap way (WebP for AVIF, lower effort). */
  readonly degradeQueueDepth: number;
  /** Source fetches in flight at once, and waiting. */
  readonly fetchConcurrency: number;
  readonly fetchQueue: number;
  /** Overall budget of one request, in milliseconds. */
  readonly requestDeadlineMs: number;
}

export interface CacheConfig {
  /** Byte budget of the originals tier (0 turns it off). */
  readonly originalsBytes: number;
  /** Byte budget of the variants tier (0 turns it off). */
  readonly variantsBytes: number;
  /** Shared decodes of originals asked for in several variants at once (`0` turns reuse off). */
  readonly decodesBytes: number;
  /** Largest share of a tier one entry may take; bigger entries are served but not kept. */
  readonly maxEntryShare: number;
  /** How long an entry is used without asking the source again, in seconds. */
  readonly ttlSeconds: number;
  /** How long a storage fault (404, 5xx, timeout, not an image) is remembered per key, in ms; 0: never. */
  readonly negativeTtlMs: number;
  /** Longest back-off a throttling store (SlowDown, 429/503, Retry-After) gets per key, in ms. */
  readonly backoffMaxMs: number;
}

export interface Config {
  readonly server: ServerConfig;
  readonly source: SourceConfig;
  readonly fetch: FetchConfig;
  readonly limits: TransformLimits;
  readonly load: LoadConfig;
  readonly cache: CacheConfig;
  /** Fallback images and CORS. */
  readonly delivery: DeliveryConfig;
  /** The fleet's result store (README: "Fleet"); undefined when it is off. */
  readonly resultStore?: ResultStoreConfig;
  /** The admin port, pre-rendering and takedowns (README: "Fleet"). */
  readonly fleet: FleetConfig;
  /** The quality target and autoquality. */
  readonly quality: QualityConfig;
  readonly presets: {
    /** The operator's preset file (JSON); the shipped presets when unset. */
    readonly file?: string;
    /** Refuse free-form parameters: only `preset` and its overrides. */
    readonly only: boolean;
    /** Delimiters of OSS styles written into the path (`a.jpg!thumb`). */
    readonly styleDelimiters: readonly StyleDelimiter[];
    /** Free watermark text (`wmt`, OSS `text_`) accepted on unsigned URLs, capped in length. */
    readonly publicTextWatermark: boolean;
  };
  /** HMAC keys for signed URLs; signing is off when empty. The first one signs (CLI), all verify. */
  readonly signingKeys: readonly string[];
  /** Steps `dpr=auto` and `w=auto` snap to. */
  readonly hints: { readonly dpr: readonly number[]; readonly widths: readonly number[] };
  readonly responses: {
    /** Cache-Control of successful image responses. */
    readonly cacheControl: string;
    /** Cache-Control of responses made the cheap way under pressure: short, so the CDN comes back. */
    readonly degradedCacheControl: string;
    /** Cache-Control of 4xx answers: short, so a CDN absorbs floods of bad URLs. */
    readonly errorCacheControl: string;
  };
  /** libvips threads per image; 0 keeps libvips' default (one per core). */
  readonly sharpConcurrency: number;
  /** Nice value of libvips' worker threads (the event loop stays at 0); 0 leaves them alone. */
  readonly transformThreadNice: number;
}

const MiB = 1024 * 1024;
/** CPUs Node sees; in a container with a CPU limit, set ORIGIN_TRANSFORM_CONCURRENCY explicitly. */
const CORES = os.availableParallelism();
/**
 * One transform more than cores: a pipeline spends part of its time off the CPU (its JavaScript
 * callbacks, the hand-off between libvips' threads and the main thread, encoders that run on one
 * thread), and with exactly one pipeline per core those gaps are idle cores. Figures in the
 * README's "Performance" section (`peer` and `cold` scenarios).
 */
export const DEFAULT_TRANSFORM_CONCURRENCY = CORES + 1;

/** Comma-separated values, each checked by `item`. */
const list = <T>(item: z.ZodType<T, string>) =>
  z
    .string()
    .transform((v) => v.split(',').map((part) => part.trim()).filter(Boolean))
    .pipe(z.array(item).min(1));
const numeric = (schema: z.ZodNumber) => z.string().transform(Number).pipe(schema);
const ascending = <T extends z.ZodType<number[]>>(schema: T) =>
  schema.refine((values) => values.every((v, i) => i === 0 || v > values[i - 1]!), 'must be in ascending order');

/** Every variable the origin reads, with its default: the README's configuration table mirrors this. */
const envSchema = z.object({
  ...SERVER_ENV,
  ...DELIVERY_ENV,
  ...STORE_ENV,
  ...FLEET_ENV,
  ...QUALITY_ENV,
  ORIGIN_SOURCE: z.string().min(1).default('fs:./samples'),
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().regex(/^[a-z0-9-]+$/).default('us-east-1'),
  S3_FORCE_PATH_STYLE: bool.default(false),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  ORIGIN_HTTP_ALLOW_PRIVATE: bool.default(false),
  ORIGIN_SOURCE_MAX_BYTES: int(1, 1024 * MiB).default(32 * MiB),
  ORIGIN_SOURCE_CONNECT_TIMEOUT_MS: int(1, 600_000).default(3_000),
  ORIGIN_SOURCE_HEADERS_TIMEOUT_MS: int(1, 600_000).default(10_000),
  ORIGIN_SOURCE_BODY_TIMEOUT_MS: int(1, 600_000).default(10_000),
  // Below the request deadline, so a slow storage is reported as a 504 and its connection freed.
  ORIGIN_SOURCE_TOTAL_TIMEOUT_MS: int(1, 3_600_000).default(20_000),
  ORIGIN_SOURCE_MAX_CONNECTIONS: int(1, 10_000).default(64),
  ORIGIN_MAX_OUTPUT_DIMENSION: int(1, 16_383).default(DEFAULT_LIMITS.maxOutputDimension),
  ORIGIN_MAX_INPUT_PIXELS: int(1, 268_402_689).default(DEFAULT_LIMITS.maxInputPixels),
  ORIGIN_MAX_FRAMES: int(1, 10_000).default(DEFAULT_LIMITS.maxFrames),
  ORIGIN_MAX_ANIMATED_PIXELS: int(1, 2_000_000_000).default(DEFAULT_LIMITS.maxAnimatedPixels),
  ORIGIN_MAX_OUTPUT_BYTES: int(1, 1024 * MiB).default(DEFAULT_LIMITS.maxOutputBytes),
  ORIGIN_TRANSFORM_TIMEOUT_SECONDS: int(1, 3_600).default(DEFAULT_LIMITS.timeoutSeconds),
  ORIGIN_ALLOW_SVG: bool.default(DEFAULT_LIMITS.allowSvg),
  ORIGIN_COLOUR: z.enum(COLOUR_MODES).default(DEFAULT_LIMITS.colour),
  ORIGIN_JPEG_ENCODER: z.enum(JPEG_ENCODERS).default(DEFAULT_ENCODERS.jpeg),
  ORIGIN_WEBP_EFFORT: int(0, 6).default(DEFAULT_ENCODERS.webpEffort),
  ORIGIN_AVIF_EFFORT: int(0, 9).default(DEFAULT_ENCODERS.avifEffort),
  ORIGIN_AVIF_BIT_DEPTH: z.enum(['8', '10']).transform((bits) => Number(bits) as AvifBitDepth).default(DEFAULT_ENCODERS.avifBitDepth),
  ORIGIN_TRANSFORM_CONCURRENCY: int(1, 1024).default(DEFAULT_TRANSFORM_CONCURRENCY),
  ORIGIN_TRANSFORM_QUEUE: int(0, 100_000).default(32 * CORES),
  ORIGIN_TRANSFORM_WAIT_MS: int(1, 600_000).default(3_000),
  // One 2048-px AVIF encode (about 90 MB) beside the small ones; a full-size 12 MP AVIF (250–350 MB)
  // runs alone. 128 rather than 160 MiB: peak RSS of the bench's social scenario 344 against 402 MB,
  // at the same cold and overload rates (bench/results/2026-12-07-memory-*.json).
  ORIGIN_TRANSFORM_MEMORY_BYTES: int(16 * MiB, 64 * 1024 * MiB).default(128 * MiB),
  ORIGIN_DEGRADE_QUEUE_DEPTH: int(0, 100_000).optional(),
  ORIGIN_FETCH_CONCURRENCY: int(1, 10_000).default(64),
  ORIGIN_FETCH_QUEUE: int(0, 100_000).default(1_024),
  ORIGIN_REQUEST_DEADLINE_MS: int(1, 3_600_000).default(30_000),
  // The tiers bridge seconds (a burst fanning out, misses from several CDN nodes): the CDN is the
  // long-term cache. Peak RSS of the bench's peer scenario by tier sizes (originals + variants +
  // decodes): 128 + 128 + 64 MiB 534 MB, 96 + 64 + 32 463 MB, 64 + 64 + 32 414 MB, 64 + 48 + 32
  // 403 MB, 48 + 48 + 32 with the 128 MiB transform budget 381 MB (README "Memory").
  ORIGIN_ORIGINALS_CACHE_BYTES: int(0, 64 * 1024 * MiB).default(48 * MiB),
  ORIGIN_VARIANTS_CACHE_BYTES: int(0, 64 * 1024 * MiB).default(48 * MiB),
  // Three 2048-px decodes (9.4 MB each), kept seconds: the originals a peak fans out at once.
  ORIGIN_DECODE_CACHE_BYTES: int(0, 64 * 1024 * MiB).default(32 * MiB),
  // A quarter of the 48 MiB originals tier: an original up to 12 MB is kept for its next variants.
  ORIGIN_CACHE_MAX_ENTRY_SHARE: z.coerce.number().gt(0).max(1).default(0.25),
  // At least a second: "never expire" would keep a replaced source's old variants forever.
  // Unset: 300 s, or 60 s with a result store (other replicas drop a purged variant within that).
  ORIGIN_CACHE_TTL_SECONDS: int(1, 31_536_000).optional(),
  // A second: a store answering errors sees one request per key per second per process, and a
  // fixed store (or a freshly uploaded object after a 404) is seen again within a second.
  ORIGIN_NEGATIVE_TTL_MS: int(0, 60_000).default(1_000),
  // S3 SlowDown lasts seconds while it rescales a prefix; past 10 s a key waits longer than it helps.
  ORIGIN_SOURCE_BACKOFF_MAX_MS: int(0, 600_000).default(10_000),
  ORIGIN_DEGRADED_CACHE_CONTROL: z.string().min(1).default('public, max-age=60'),
  ORIGIN_PRESETS: z.string().min(1).optional(),
  ORIGIN_PRESETS_ONLY: bool.default(false),
  ORIGIN_PUBLIC_TEXT_WATERMARK: bool.default(false),
  ORIGIN_STYLE_DELIMITERS: list(z.enum(STYLE_DELIMITERS, `each must be one of ${STYLE_DELIMITERS.join(' ')}`)).default(['!']),
  ORIGIN_SIGNING_KEYS: list(z.string().min(16, 'each key needs at least 16 characters (use 32 random bytes)')).optional(),
  ORIGIN_DPR_STEPS: ascending(list(numeric(z.number().min(1).max(4)))).default([1, 1.5, 2, 3]),
  ORIGIN_WIDTH_STEPS: ascending(list(numeric(z.number().int().min(1).max(16_383)))).default([
    320, 480, 640, 750, 828, 1080, 1200, 1440, 1920, 2048, 2560, 3840,
  ]),
  ORIGIN_CACHE_CONTROL: z.string().min(1).default('public, max-age=31536000, stale-while-revalidate=86400, stale-if-error=604800'),
  ORIGIN_ERROR_CACHE_CONTROL: z.string().min(1).default('public, max-age=60'),
  ORIGIN_SHARP_CONCURRENCY: int(0, 1024).default(0),
  ORIGIN_TRANSFORM_THREAD_NICE: int(0, 19).default(TRANSFORM_THREAD_NICE),
});

/** The name of every variable the origin reads (the deploy manifests are checked against it). */
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);


/**
 * Pure: maps environment variables to the typed config. Throws `ConfigError` listing every
 * problem at once, each prefixed with the variable's name.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): Config {
  // Empty strings count as unset, as shells and manifests often write `VAR=`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const source = parseSourceConfig(e, cwd);
  const resultStore = parseStoreConfig(e, source, e, cwd);
  return deepFreeze({
    server: parseServerConfig(e, e.ORIGIN_REQUEST_DEADLINE_MS),
    source,
    fetch: {
      maxBytes: e.ORIGIN_SOURCE_MAX_BYTES,
      connectTimeoutMs: e.ORIGIN_SOURCE_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: e.ORIGIN_SOURCE_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: e.ORIGIN_SOURCE_BODY_TIMEOUT_MS,
      totalTimeoutMs: e.ORIGIN_SOURCE_TOTAL_TIMEOUT_MS,
      maxConnections: e.ORIGIN_SOURCE_MAX_CONNECTIONS,
    },
    limits: {
      maxOutputDimension: e.ORIGIN_MAX_OUTPUT_DIMENSION,
      maxInputPixels: e.ORIGIN_MAX_INPUT_PIXELS,
      maxFrames: e.ORIGIN_MAX_FRAMES,
      maxAnimatedPixels: e.ORIGIN_MAX_ANIMATED_PIXELS,
      maxOutputBytes: e.ORIGIN_MAX_OUTPUT_BYTES,
      timeoutSeconds: e.ORIGIN_TRANSFORM_TIMEOUT_SECONDS,
      allowSvg: e.ORIGIN_ALLOW_SVG,
      colour: e.ORIGIN_COLOUR,
      encoders: { jpeg: e.ORIGIN_JPEG_ENCODER, webpEffort: e.ORIGIN_WEBP_EFFORT, avifEffort: e.ORIGIN_AVIF_EFFORT, avifBitDepth: e.ORIGIN_AVIF_BIT_DEPTH },
    },
    load: {
      transformConcurrency: e.ORIGIN_TRANSFORM_CONCURRENCY,
      transformQueue: e.ORIGIN_TRANSFORM_QUEUE,
      transformWaitMs: e.ORIGIN_TRANSFORM_WAIT_MS,
      transformMemoryBytes: e.ORIGIN_TRANSFORM_MEMORY_BYTES,
      // Degrade once a quarter of the queue is taken: early enough that the queue rarely fills.
      degradeQueueDepth: e.ORIGIN_DEGRADE_QUEUE_DEPTH ?? Math.ceil(e.ORIGIN_TRANSFORM_QUEUE / 4),
      fetchConcurrency: e.ORIGIN_FETCH_CONCURRENCY,
      fetchQueue: e.ORIGIN_FETCH_QUEUE,
      requestDeadlineMs: e.ORIGIN_REQUEST_DEADLINE_MS,
    },
    cache: {
      originalsBytes: e.ORIGIN_ORIGINALS_CACHE_BYTES,
      variantsBytes: e.ORIGIN_VARIANTS_CACHE_BYTES,
      decodesBytes: e.ORIGIN_DECODE_CACHE_BYTES,
      maxEntryShare: e.ORIGIN_CACHE_MAX_ENTRY_SHARE,
      ttlSeconds: e.ORIGIN_CACHE_TTL_SECONDS ?? (resultStore ? 60 : 300),
      negativeTtlMs: e.ORIGIN_NEGATIVE_TTL_MS,
      backoffMaxMs: e.ORIGIN_SOURCE_BACKOFF_MAX_MS,
    },
    delivery: parseDeliveryConfig(e),
    ...(resultStore && { resultStore }),
    fleet: parseFleetConfig(e, resultStore !== undefined),
    quality: parseQualityConfig(e),
    presets: { ...(e.ORIGIN_PRESETS !== undefined && { file: path.resolve(cwd, e.ORIGIN_PRESETS) }), only: e.ORIGIN_PRESETS_ONLY, styleDelimiters: e.ORIGIN_STYLE_DELIMITERS, publicTextWatermark: e.ORIGIN_PUBLIC_TEXT_WATERMARK },
    signingKeys: e.ORIGIN_SIGNING_KEYS ?? [],
    hints: { dpr: e.ORIGIN_DPR_STEPS, widths: e.ORIGIN_WIDTH_STEPS },
    responses: {
      cacheControl: e.ORIGIN_CACHE_CONTROL,
      degradedCacheControl: e.ORIGIN_DEGRADED_CACHE_CONTROL,
      errorCacheControl: e.ORIGIN_ERROR_CACHE_CONTROL,
    },
    sharpConcurrency: e.ORIGIN_SHARP_CONCURRENCY,
    transformThreadNice: e.ORIGIN_TRANSFORM_THREAD_NICE,
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
