/**
 * Wires one origin instance from the config: source → producer (tiers, coalescing, queues) →
 * metrics → fastify app. `main.ts` and the tests build the origin the same way through here.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { createSpecParser } from '../transforms/spec.js';
import type { Config } from './config.js';
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

export function createOrigin(config: Config, source: ImageSource, logger: FastifyBaseLogger): Origin {
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
      parseSpec: createSpecParser(config.limits),
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
