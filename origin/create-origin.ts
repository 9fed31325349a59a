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
import { createOriginals } from './load/originals.js';
import { createVariants } from './load/variants.js';
import { createWorkQueue, type WorkQueue } from './load/work-queue.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { ImageSource } from './sources/source.js';

export interface Origin {
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  readonly transformQueue: WorkQueue;
  /** Requests received and not yet answered (what a shutdown past its grace abandons). */
  inFlightRequests(): number;
  /** `/readyz` answers 200 only while ready. */
  setReady(ready: boolean): void;
}

/** The operator's preset file, or the shipped presets; a broken one is a ConfigError naming the preset. */
function loadPresets(config: Config, parseSpec: SpecParser): PresetCatalog {
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
  readonly metrics: Metrics;
  readonly transformQueue: WorkQueue;
}

/** Throws ConfigError when the presets are broken, so start-up stops naming them. */
export function createOriginParts(config: Config, source: ImageSource): OriginParts {
  const { load, cache, limits, responses } = config;
  const parseSpec = createSpecParser(limits);
  const catalog = loadPresets(config, parseSpec);
  const transformQueue = createWorkQueue({ concurrency: load.transformConcurrency, maxQueue: load.transformQueue, maxWaitMs: load.transformWaitMs });
  // Fetches wait at most as long as the whole request may take; the deadline ends them sooner.
  const fetchQueue = createWorkQueue({ concurrency: load.fetchConcurrency, maxQueue: load.fetchQueue, maxWaitMs: load.requestDeadlineMs });
  const metrics = createMetrics({ queueDepth: () => transformQueue.queued, inflightTransforms: () => transformQueue.running });
  const autoQuality = { config: config.quality, limits };
  const originals = createOriginals({ source, cache, queue: fetchQueue, metrics, allowSvg: limits.allowSvg, autoQuality });
  const variants = createVariants({ originals, limits, cache, queue: transformQueue, degradeQueueDepth: load.degradeQueueDepth, metrics });
  const flow: FlowDeps = {
    reading: { parseSpec, catalog, presetsOnly: config.presets.only, signingKeys: config.signingKeys, styleDelimiters: config.presets.styleDelimiters },
    hints: config.hints,
    limits,
    originals,
    variants,
    cacheControl: responses.cacheControl,
    degradedCacheControl: responses.degradedCacheControl,
    fallback: config.delivery.fallback,
    qualityTarget: config.quality.target,
    autoQuality: config.quality.autoQuality,
  };
  return { flow, metrics, transformQueue };
}

export function createOrigin(config: Config, source: ImageSource, logger: FastifyBaseLogger): Origin {
  const { flow, metrics, transformQueue } = createOriginParts(config, source);
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
  return { app, metrics, transformQueue, inFlightRequests, setReady: (value) => void (ready = value) };
}
