/**
 * Wires one origin instance from the config, in dependency order and without two-phase wiring:
 * queues → metrics (whose gauges read the queues) → originals → variants → request reading
 * (`createOriginParts`, which the flow's tests use without a server) → the fastify app. `main.ts` and the tests build the origin the same way through here.
 */
import { readFileSync } from 'node:fs';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { DEFAULT_PRESET_FILE } from '../presets/default-presets.js';
import { createPresetCatalog, PresetFileError, type PresetCatalog } from '../presets/preset-registry.js';
import { createSpecParser, type SpecParser } from '../transforms/parse-spec.js';
import { ConfigError, type Config } from './config.js';
import type { FlowDeps } from './flow/serve-image.js';
import { buildServer } from './http/server.js';
import { createBackgroundRenderer, type BackgroundRenderer } from './load/background-renderer.js';
import { createOriginals } from './load/originals.js';
import { createRequestMemo } from './flow/request-memo.js';
import { createVariants } from './load/variants.js';
import { createWorkQueue, type WorkQueue } from './load/work-queue.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { RequestDeps } from './request/read-request.js';
import type { ImageSource } from './sources/source.js';
import { createObjectStore } from './store/create-result-store.js';
import { createResultTier, type ResultTier } from './store/result-tier.js';
import { createThrottledLog } from './store/throttled-log.js';
import { buildAdminServer } from './fleet/admin-server.js';
import { createPrerenderer, type Prerenderer } from './fleet/prerender.js';
import { createPurgeHook } from './fleet/purge-hook.js';
import { createTakedown, type Takedown } from './fleet/takedown.js';

export interface Origin {
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  readonly transformQueue: WorkQueue;
  /** The fleet's result store; undefined when ORIGIN_RESULT_STORE is unset. */
  readonly results?: ResultTier | undefined;
  readonly takedown: Takedown;
  readonly prerender?: Prerenderer | undefined;
  /** The low-priority process pre-renders are made in (started with the first one). */
  readonly background?: BackgroundRenderer | undefined;
  /** The admin listener (events, purge, block); undefined when ORIGIN_ADMIN_PORT is off. */
  readonly admin?: FastifyInstance | undefined;
  /** Requests received and not yet answered (what a shutdown past its grace abandons). */
  inFlightRequests(): number;
  /** `/readyz` answers 200 only while ready. */
  setReady(ready: boolean): void;
}

/** The operator's preset file, or the shipped presets; a broken one is a ConfigError naming the preset. */
export function loadPresets(config: Config, parseSpec: SpecParser): PresetCatalog {
  const where = config.presets.file ?? 'the shipped presets';
  try {
    const file: unknown = config.presets.file === undefined ? DEFAULT_PRESET_FILE : JSON.parse(readFileSync(config.presets.file, 'utf8'));
    return createPresetCatalog(file, parseSpec);
  } catch (error) {
    const problems = error instanceof PresetFileError ? error.problems : [error instanceof Error ? error.message : String(error)];
    throw new ConfigError(problems.map((p) => `ORIGIN_PRESETS (${where}): ${p}`));
  }
}

/** The request flow's dependencies and what observes them, without an HTTP server around them. */
export interface OriginParts {
  readonly flow: FlowDeps;
  /** What reading a request needs (the memo's own input; tests build a memo-less flow from it). */
  readonly reading: RequestDeps;
  readonly metrics: Metrics;
  readonly transformQueue: WorkQueue;
  readonly results?: ResultTier | undefined;
  readonly takedown: Takedown;
  readonly prerender?: Prerenderer | undefined;
  /** The low-priority render process behind `prerender`, in the server. */
  readonly background?: BackgroundRenderer | undefined;
}

/** A failing result store is logged once per interval, not once per request. */
const STORE_LOG_INTERVAL_MS = 10_000;

/** How long the low-priority render process stays without a pre-render before it leaves. */
const BACKGROUND_IDLE_MS = 30_000;

/**
 * Throws ConfigError when the presets are broken, so start-up stops naming them. With
 * `lowPriorityPrerender` (the server) pre-renders are made in a process at the lowest CPU
 * priority; without it (the backfill CLI, which has no live traffic) like live variants.
 */
export function createOriginParts(config: Config, source: ImageSource, logger?: FastifyBaseLogger, { lowPriorityPrerender = false } = {}): OriginParts {
  const { load, cache, limits, responses } = config;
  const parseSpec = createSpecParser(limits);
  const catalog = loadPresets(config, parseSpec);
  // Admitted transforms wait their turn (the request's deadline still ends them): measured under 4x
  // overload, waiters shed at the wait budget were the sheds that took 3 s instead of 11 ms.
  const transformQueue = createWorkQueue({
    concurrency: load.transformConcurrency,
    maxQueue: load.transformQueue,
    maxWaitMs: load.transformWaitMs,
    giveUpMs: load.requestDeadlineMs,
    memoryBytes: load.transformMemoryBytes,
    onMemoryWait: () => metrics.memoryWaits.inc(),
  });
  // Fetches wait at most as long as the whole request may take; the deadline ends them sooner.
  const fetchQueue = createWorkQueue({ concurrency: load.fetchConcurrency, maxQueue: load.fetchQueue, maxWaitMs: load.requestDeadlineMs });
  // The gauge reads the result tier only when scraped, after it exists.
  const metrics = createMetrics(
    { queueDepth: () => transformQueue.queued, inflightTransforms: () => transformQueue.running },
    { resultStoreQueueDepth: () => results?.queueDepth ?? 0, prerenderQueueDepth: () => prerender?.depth ?? 0 },
  );
  const autoQuality = { config: config.quality, limits };
  const originals = createOriginals({ source, cache, queue: fetchQueue, metrics, allowSvg: limits.allowSvg, autoQuality });
  const storeLog = createThrottledLog((fields, message) => logger?.warn(fields, message), STORE_LOG_INTERVAL_MS);
  const store = config.resultStore && createObjectStore(config.resultStore);
  const results = config.resultStore && store && createResultTier({ store, config: config.resultStore, originals, metrics, log: storeLog });
  const { fleet } = config;
  const background =
    lowPriorityPrerender && results && fleet.prerender.length > 0
      ? createBackgroundRenderer({ limits, sharpConcurrency: config.sharpConcurrency, idleMs: BACKGROUND_IDLE_MS })
      : undefined;
  const variants = createVariants({ originals, limits, cache, queue: transformQueue, degradeQueueDepth: load.degradeQueueDepth, metrics, results, background });
  const webhook = fleet.purgeWebhook === undefined ? undefined : createPurgeHook(fleet.purgeWebhook, (fields, message) => logger?.warn(fields, message));
  const takedown = createTakedown({
    variants,
    originals,
    results,
    store,
    listName: fleet.blocklistName,
    refreshMs: fleet.blocklistRefreshMs,
    timeoutMs: config.resultStore?.writeTimeoutMs ?? 5_000,
    metrics,
    log: storeLog,
    ...(webhook && { onPurged: webhook }),
  });
  const reading: RequestDeps = {
    parseSpec,
    catalog,
    presetsOnly: config.presets.only,
    signingKeys: config.signingKeys,
    styleDelimiters: config.presets.styleDelimiters,
    publicTextWatermark: config.presets.publicTextWatermark,
  };
  const flow: FlowDeps = {
    memo: createRequestMemo(reading),
    hints: config.hints,
    limits,
    originals,
    variants,
    cacheControl: responses.cacheControl,
    degradedCacheControl: responses.degradedCacheControl,
    fallback: config.delivery.fallback,
    isBlocked: takedown.isBlocked,
    qualityTarget: config.quality.target,
    autoQuality: config.quality.autoQuality,
  };
  const unknown = fleet.prerender.filter((name) => !catalog.presets.has(name));
  if (unknown.length > 0) throw new ConfigError([`ORIGIN_PRERENDER: no preset named ${unknown.map((n) => `"${n}"`).join(', ')}`]);
  const prerender =
    results && fleet.prerender.length > 0
      ? createPrerenderer({
          presets: fleet.prerender,
          registry: catalog.presets,
          dprSteps: config.hints.dpr,
          flow,
          reading,
          variants,
          results,
          transformQueue,
          transformConcurrency: load.transformConcurrency,
          maxQueue: fleet.prerenderQueue,
          metrics,
          onFailure: (key, variant, error) => logger?.warn({ key, variant, error: error instanceof Error ? error.message : String(error) }, 'pre-render failed'),
        })
      : undefined;
  return { flow, reading, metrics, transformQueue, results, takedown, prerender, background };
}

export function createOrigin(config: Config, source: ImageSource, logger: FastifyBaseLogger): Origin {
  const { flow, metrics, transformQueue, results, takedown, prerender, background } = createOriginParts(config, source, logger, { lowPriorityPrerender: true });
  const { adminPort, adminToken } = config.fleet;
  const admin =
    adminPort !== undefined && adminToken !== undefined
      ? buildAdminServer({ token: adminToken, source: config.source, takedown, prerender, metrics, logger: logger.child({ server: 'admin' }), connections: config.server.connections })
      : undefined;
  takedown.start();
  let ready = false;
  const { app, inFlightRequests } = buildServer({
    flow,
    metrics,
    errorCacheControl: config.responses.errorCacheControl,
    requestDeadlineMs: config.load.requestDeadlineMs,
    connections: config.server.connections,
    metricsToken: config.server.metricsToken,
    requiredHeader: config.server.requiredHeader,
    cors: config.delivery.cors,
    logger,
    isReady: () => ready,
  });
  return { app, metrics, transformQueue, results, takedown, prerender, background, admin, inFlightRequests, setReady: (value) => void (ready = value) };
}
