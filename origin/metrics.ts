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

/** The fleet's queues (result-store writes, pre-rendering); zero while they are off. */
export interface FleetGauges {
  readonly resultStoreQueueDepth?: () => number;
  readonly prerenderQueueDepth?: () => number;
}

export type CacheTier = 'variant' | 'original' | 'negative';

/**
 * Counts kept as plain numbers per label value and added to their prom-client counter when it is
 * collected (a scrape): every request pays a Map update instead of prom-client's label validation
 * and hashing (about 1–2 µs each, a few per cache hit). Scrapes see exactly the same totals.
 */
function pendingCounts<K>(): { add(key: K): void; drain(apply: (key: K, count: number) => void): void } {
  const counts = new Map<K, number>();
  return {
    add: (key) => void counts.set(key, (counts.get(key) ?? 0) + 1),
    drain(apply) {
      for (const [key, count] of counts) apply(key, count);
      counts.clear();
    },
  };
}

export function createMetrics(load: LoadGauges, fleet: FleetGauges = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const statuses = pendingCounts<number>();
  const lookups = pendingCounts<`${CacheTier} ${'hit' | 'miss'}`>();
  return {
    registry,
    /** One answered request (or 499, a client gone first), by status. */
    countRequest: (status: number) => statuses.add(status),
    /** One look-up in an in-memory tier. */
    countCacheLookup: (tier: CacheTier, hit: boolean) => lookups.add(`${tier} ${hit ? 'hit' : 'miss'}`),
    requests: new Counter({
      name: 'image_origin_requests_total',
      help: 'Answered requests by HTTP status.',
      labelNames: ['status'],
      registers,
      collect() {
        statuses.drain((status, count) => this.inc({ status }, count));
      },
    }),
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
      collect() {
        lookups.drain((key, count) => {
          const [tier = '', result = ''] = key.split(' ');
          this.inc({ tier, result }, count);
        });
      },
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
    memoryWaits: new Counter({
      name: 'image_origin_transform_memory_waits_total',
      help: 'Transforms that waited although a slot was free, because the running ones and they would need more than ORIGIN_TRANSFORM_MEMORY_BYTES.',
      registers,
    }),
    degraded: new Counter({
      name: 'image_origin_degraded_total',
      help: 'Responses made the cheap way under pressure (WebP instead of AVIF, lower effort, short Cache-Control).',
      registers,
    }),
    shed: new Counter({ name: 'image_origin_shed_total', help: 'Requests refused with 503 because of load.', registers }),
    resultStoreRequests: new Counter({
      name: 'image_origin_result_store_requests_total',
      help: 'Result store operations by op (get, put, list, delete) and result (hit, miss, ok, dropped, timeout, error, aborted).',
      labelNames: ['op', 'result'],
      registers,
    }),
    resultStoreQueueDepth: new Gauge({
      name: 'image_origin_result_store_queue_depth',
      help: 'Result store writes waiting or running.',
      registers,
      collect() {
        this.set(fleet.resultStoreQueueDepth?.() ?? 0);
      },
    }),
    prerender: new Counter({
      name: 'image_origin_prerender_total',
      help: 'Pre-rendered variants by result (done, skipped, failed), and events by what became of them (ignored, duplicate, rejected).',
      labelNames: ['result'],
      registers,
    }),
    prerenderQueueDepth: new Gauge({
      name: 'image_origin_prerender_queue_depth',
      help: 'Pre-render jobs (one per source key) waiting or running.',
      registers,
      collect() {
        this.set(fleet.prerenderQueueDepth?.() ?? 0);
      },
    }),
    purged: new Counter({ name: 'image_origin_purged_total', help: 'Variants removed from this replica\'s tiers and the result store by purge, block and delete events.', registers }),
    blockedRequests: new Counter({ name: 'image_origin_blocked_requests_total', help: 'Requests refused (451 or the fallback image) because their source key is blocked.', registers }),
    newVariants: new Counter({
      name: 'image_origin_new_variants_total',
      help: 'Variants this process had not made recently; a rising rate warns of cache-busting URLs.',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
