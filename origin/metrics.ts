/**
 * Prometheus metrics (prom-client), one registry per origin instance so tests can run several.
 * Names and labels are documented in the README ("Running at peak"); label values are small
 * fixed sets (status codes, formats, tiers), never keys or URLs.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface LoadGauges {
  readonly queueDepth: () => number;
  readonly inflightTransforms: () => number;
}

/** Seconds; from a cached hit (sub-millisecond) to a large AVIF encode under load. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(load: LoadGauges) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'image_origin_requests_total', help: 'Answered requests by HTTP status.', labelNames: ['status'], registers }),
    requestDuration: new Histogram({
      name: 'image_origin_request_duration_seconds',
      help: 'Time from request to the last byte of the answer.',
      buckets: DURATION_BUCKETS,
      registers,
    }),
    sourceFetches: new Counter({
      name: 'image_origin_source_fetches_total',
      help: 'Source object fetches by result (ok, not_found, too_large, timeout, error).',
      labelNames: ['result'],
      registers,
    }),
    sourceFetchDuration: new Histogram({
      name: 'image_origin_source_fetch_duration_seconds',
      help: 'Duration of source object fetches.',
      buckets: DURATION_BUCKETS,
      registers,
    }),
    sourceStats: new Counter({
      name: 'image_origin_source_stats_total',
      help: 'Source metadata look-ups for conditional requests, by result (ok, not_found, timeout, error, aborted).',
      labelNames: ['result'],
      registers,
    }),
    sourceStatDuration: new Histogram({
      name: 'image_origin_source_stat_duration_seconds',
      help: 'Duration of source metadata look-ups.',
      buckets: DURATION_BUCKETS,
      registers,
    }),
    transforms: new Counter({ name: 'image_origin_transforms_total', help: 'Completed transforms by output format.', labelNames: ['format'], registers }),
    transformDuration: new Histogram({
      name: 'image_origin_transform_duration_seconds',
      help: 'Duration of the sharp pipeline by output format (excluding queue wait).',
      labelNames: ['format'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    cacheRequests: new Counter({
      name: 'image_origin_cache_requests_total',
      help: 'In-memory cache look-ups by tier (original, variant) and result (hit, miss).',
      labelNames: ['tier', 'result'],
      registers,
    }),
    coalesced: new Counter({
      name: 'image_origin_coalesced_total',
      help: 'Requests that joined a fetch or transform already in flight instead of starting one.',
      labelNames: ['stage'],
      registers,
    }),
    decodes: new Counter({
      name: 'image_origin_shared_decodes_total',
      help: 'Shared decodes of originals asked for in several variants: made (one decode) or reused (a variant derived without decoding).',
      labelNames: ['result'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'image_origin_queue_depth',
      help: 'Transforms waiting for a slot.',
      registers,
      collect() {
        this.set(load.queueDepth());
      },
    }),
    inflightTransforms: new Gauge({
      name: 'image_origin_inflight_transforms',
      help: 'Transforms running now.',
      registers,
      collect() {
        this.set(load.inflightTransforms());
      },
    }),
    degraded: new Counter({
      name: 'image_origin_degraded_total',
      help: 'Responses made the cheap way under pressure (WebP instead of AVIF, lower effort, short Cache-Control).',
      registers,
    }),
    shed: new Counter({ name: 'image_origin_shed_total', help: 'Requests refused with 503 because of load.', registers }),
    newVariants: new Counter({
      name: 'image_origin_new_variants_total',
      help: 'Variants this process had not made recently; a rising rate warns of cache-busting URLs.',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
