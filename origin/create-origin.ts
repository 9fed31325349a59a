/**
 * Wires one origin instance from the config: source → producer (tiers, coalescing, queues) →
 * metrics → fastify app. `main.ts` and the tests build the origin the same way through here.
 */
import { readFileSync } from 'node:fs';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { DEFAULT_PRESET_FILE } from '../presets/default-presets.js';
import { createPresetCatalog, PresetFileError, type PresetCatalog } from '../presets/preset-registry.js';
import { createSpecParser, type RequestedSpec } from '../transforms/spec.js';
import { ConfigError, type Config } from './config.js';
import { createVariantProducer, type VariantProducer } from './load/variant-producer.js';
import { createMetrics, type Metrics } from './metrics.js';
import { buildServer } from './server.js';
import type { ImageSource } from './sources/source.js';

export interface Origin {
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  readonly producer: VariantProducer;
  /** `/readyz` answers 200 only while ready. */
  setReady(ready: boolean): void;
}

/** The operator's preset file, or the shipped presets; a broken one is a ConfigError naming the preset. */
function loadPresets(config: Config, parseSpec: (query: URLSearchParams) => RequestedSpec): PresetCatalog {
  const where = config.presets.file ?? 'the shipped presets';
  try {
    const file: unknown = config.presets.file === undefined ? DEFAULT_PRESET_FILE : JSON.parse(readFileSync(config.presets.file, 'utf8'));
    return createPresetCatalog(file, parseSpec);
  } catch (error) {
    const problems = error instanceof PresetFileError ? error.problems : [error instanceof Error ? error.message : String(error)];
    throw new ConfigError(problems.map((p) => `ORIGIN_PRESETS (${where}): ${p}`));
  }
}

/** Throws ConfigError when the presets are broken, so start-up stops naming them. */
export function createOrigin(config: Config, source: ImageSource, logger: FastifyBaseLogger): Origin {
  const parseSpec = createSpecParser(config.limits);
  const catalog = loadPresets(config, parseSpec);
  let producer: VariantProducer | undefined;
  const metrics = createMetrics({
    queueDepth: () => producer?.transformsQueued ?? 0,
    inflightTransforms: () => producer?.transformsRunning ?? 0,
  });
  producer = createVariantProducer({ source, limits: config.limits, load: config.load, cache: config.cache, metrics });
  let ready = false;
  const app = buildServer({
    deps: {
      source,
      producer,
      metrics,
      parseSpec,
      catalog,
      presetsOnly: config.presets.only,
      signingKeys: config.signingKeys,
      hints: config.hints,
      limits: config.limits,
      cacheControl: config.responses.cacheControl,
      degradedCacheControl: config.responses.degradedCacheControl,
    },
    errorCacheControl: config.responses.errorCacheControl,
    requestDeadlineMs: config.load.requestDeadlineMs,
    serveMetrics: config.server.metricsPort === undefined,
    logger,
    isReady: () => ready,
  });
  return { app, metrics, producer, setReady: (value) => void (ready = value) };
}
