/**
 * Prometheus metrics, one set per origin instance so tests can run several. The origin's own
 * series are plain numbers kept here and written in Prometheus' text format when scraped;
 * prom-client is loaded by the first scrape, only for its default process metrics (CPU, memory,
 * event loop, GC), which therefore count from then. Loading it at start-up cost 23 ms of spawn to
 * the first image (430 against 407 ms, medians of 21 interleaved starts, Node 20, 2026-12-07).
 * A count or an observation is one Map update: a cache hit's three take about 125 ns (136 ns with
 * prom-client's histogram before). Names and labels are documented in the README ("Running at
 * peak"); label values are small fixed sets (status codes, formats, tiers), never keys or URLs.
 */
import type { Registry } from 'prom-client';

/** What `/metrics` answers with: Prometheus' text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface LoadGauges {
  readonly queueDepth: () => number;
  readonly inflightTransforms: () => number;
}

/** The fleet's queues (result-store writes, pre-rendering); zero while they are off. */
export interface FleetGauges {
  readonly resultStoreQueueDepth?: () => number;
  readonly prerenderQueueDepth?: () => number;
}

export type CacheTier = 'variant' | 'original' | 'negative';

/** Seconds; from a cached hit (sub-millisecond) to a large AVIF encode under load. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type LabelValues<L extends string> = Readonly<Record<L, string | number>>;

/** One metric family, written as Prometheus text: its HELP and TYPE lines, then its samples. */
interface Family {
  text(): string;
}

const escapeLabel = (value: string) => value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');
const header = (name: string, help: string, type: string) => `# HELP ${name} ${help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}\n# TYPE ${name} ${type}`;

/** Label values in the order of `names`, joined into the key a sample is kept under. */
function labelKey<L extends string>(names: readonly L[], labels: LabelValues<L> | undefined): string {
  // Concatenated rather than mapped and joined: a hit counts two or three of these.
  let key = '';
  for (let i = 0; i < names.length; i++) key += (i === 0 ? '' : '\u0000') + String(labels?.[names[i]!] ?? '');
  return key;
}

/** `{a="1",b="2"}` for a sample's key, with `extra` (a bucket's `le`) last; empty without labels. */
function labelText(names: readonly string[], key: string, extra?: string): string {
  const values = names.length === 0 ? [] : key.split('\u0000');
  const pairs = names.map((name, i) => `${name}="${escapeLabel(values[i] ?? '')}"`);
  if (extra !== undefined) pairs.push(extra);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/** A counter; without labels it is exported as 0 before its first count, with labels per label set counted. */
export class Counter<L extends string = never> implements Family {
  readonly #values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[] = [],
  ) {
    if (labelNames.length === 0) this.#values.set('', 0);
  }

  /** `inc()`, `inc(n)`, `inc(labels)` or `inc(labels, n)`, as prom-client's counters take them. */
  inc(labels?: LabelValues<L> | number, by = 1): void {
    const [values, amount] = typeof labels === 'number' ? [undefined, labels] : [labels, by];
    const key = labelKey(this.labelNames, values);
    this.#values.set(key, (this.#values.get(key) ?? 0) + amount);
  }

  /** The sum over every label set. */
  total(): number {
    let sum = 0;
    for (const value of this.#values.values()) sum += value;
    return sum;
  }

  text(): string {
    const lines = [...this.#values].map(([key, value]) => `${this.name}${labelText(this.labelNames, key)} ${value}`);
    return [header(this.name, this.help, 'counter'), ...lines].join('\n');
  }
}

interface Observations {
  /** Observations per bucket (not cumulative), the last for those above every bound. */
  readonly counts: number[];
  sum: number;
}

/** A histogram (of durations in seconds, by default over DURATION_BUCKETS); exported with cumulative buckets, `_sum` and `_count`. */
export class Histogram<L extends string = never> implements Family {
  readonly #series = new Map<string, Observations>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[] = [],
    readonly buckets: readonly number[] = DURATION_BUCKETS,
  ) {
    if (labelNames.length === 0) this.#series.set('', this.#empty());
  }

  /** `observe(value)` or `observe(labels, value)`, as prom-client's histograms take them. */
  observe(labels: LabelValues<L> | number, value?: number): void {
    const [values, observed] = typeof labels === 'number' ? [undefined, labels] : [labels, value ?? 0];
    const key = labelKey(this.labelNames, values);
    let series = this.#series.get(key);
    if (!series) this.#series.set(key, (series = this.#empty()));
    const bucket = this.buckets.findIndex((bound) => observed <= bound);
    series.counts[bucket === -1 ? this.buckets.length : bucket]! += 1;
    series.sum += observed;
  }

  text(): string {
    const lines: string[] = [];
    for (const [key, { counts, sum }] of this.#series) {
      let cumulative = 0;
      for (const [i, bound] of [...this.buckets, Infinity].entries()) {
        cumulative += counts[i] ?? 0;
        lines.push(`${this.name}_bucket${labelText(this.labelNames, key, `le="${bound === Infinity ? '+Inf' : bound}"`)} ${cumulative}`);
      }
      lines.push(`${this.name}_sum${labelText(this.labelNames, key)} ${sum}`, `${this.name}_count${labelText(this.labelNames, key)} ${cumulative}`);
    }
    return [header(this.name, this.help, 'histogram'), ...lines].join('\n');
  }

  #empty(): Observations {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0 };
  }
}

/** A gauge read when scraped. */
class Gauge implements Family {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly read: () => number,
  ) {}

  text(): string {
    return `${header(this.name, this.help, 'gauge')}\n${this.name} ${this.read()}`;
  }
}

export function createMetrics(load: LoadGauges, fleet: FleetGauges = {}) {
  const requests = new Counter('image_origin_requests_total', 'Answered requests by HTTP status.', ['status']);
  const cacheRequests = new Counter('image_origin_cache_requests_total', 'In-memory cache look-ups by tier (original, variant) and result (hit, miss).', ['tier', 'result']);
  const families = {
    requests,
    requestDuration: new Histogram('image_origin_request_duration_seconds', 'Time from request to the last byte of the answer.'),
    sourceFetches: new Counter('image_origin_source_fetches_total', 'Source object fetches by result (ok, not_found, too_large, timeout, error).', ['result']),
    sourceFetchDuration: new Histogram('image_origin_source_fetch_duration_seconds', 'Duration of source object fetches.'),
    sourceStats: new Counter('image_origin_source_stats_total', 'Source metadata look-ups for conditional requests, by result (ok, not_found, timeout, error, aborted).', ['result']),
    sourceStatDuration: new Histogram('image_origin_source_stat_duration_seconds', 'Duration of source metadata look-ups.'),
    transforms: new Counter('image_origin_transforms_total', 'Completed transforms by output format.', ['format']),
    transformDuration: new Histogram('image_origin_transform_duration_seconds', 'Duration of the sharp pipeline by output format (excluding queue wait).', ['format']),
    cacheRequests,
    coalesced: new Counter('image_origin_coalesced_total', 'Requests that joined a fetch or transform already in flight instead of starting one.', ['stage']),
    decodes: new Counter(
      'image_origin_shared_decodes_total',
      'Shared decodes of originals asked for in several variants: made (one decode) or reused (a variant derived without decoding).',
      ['result'],
    ),
    queueDepth: new Gauge('image_origin_queue_depth', 'Transforms waiting for a slot.', load.queueDepth),
    inflightTransforms: new Gauge('image_origin_inflight_transforms', 'Transforms running now.', load.inflightTransforms),
    memoryWaits: new Counter(
      'image_origin_transform_memory_waits_total',
      'Transforms that waited although a slot was free, because the running ones and they would need more than ORIGIN_TRANSFORM_MEMORY_BYTES.',
    ),
    degraded: new Counter('image_origin_degraded_total', 'Responses made the cheap way under pressure (WebP instead of AVIF, lower effort, short Cache-Control).'),
    shed: new Counter('image_origin_shed_total', 'Requests refused with 503 because of load.'),
    resultStoreRequests: new Counter(
      'image_origin_result_store_requests_total',
      'Result store operations by op (get, put, list, delete) and result (hit, miss, ok, dropped, timeout, error, aborted).',
      ['op', 'result'],
    ),
    resultStoreQueueDepth: new Gauge('image_origin_result_store_queue_depth', 'Result store writes waiting or running.', () => fleet.resultStoreQueueDepth?.() ?? 0),
    prerender: new Counter(
      'image_origin_prerender_total',
      'Pre-rendered variants by result (done, skipped, failed), and events by what became of them (ignored, duplicate, rejected).',
      ['result'],
    ),
    prerenderQueueDepth: new Gauge('image_origin_prerender_queue_depth', 'Pre-render jobs (one per source key) waiting or running.', () => fleet.prerenderQueueDepth?.() ?? 0),
    purged: new Counter('image_origin_purged_total', "Variants removed from this replica's tiers and the result store by purge, block and delete events."),
    blockedRequests: new Counter('image_origin_blocked_requests_total', 'Requests refused (451 or the fallback image) because their source key is blocked.'),
    newVariants: new Counter('image_origin_new_variants_total', 'Variants this process had not made recently; a rising rate warns of cache-busting URLs.'),
  };
  let processMetrics: Promise<Registry> | undefined;
  return {
    ...families,
    /** One answered request (or 499, a client gone first), by status. */
    countRequest: (status: number) => requests.inc({ status }),
    /** One look-up in an in-memory tier. */
    countCacheLookup: (tier: CacheTier, hit: boolean) => cacheRequests.inc({ tier, result: hit ? 'hit' : 'miss' }),
    /** Every metric in Prometheus' text format: the origin's own, then prom-client's process metrics. */
    async text(): Promise<string> {
      // prom-client is CommonJS: its exports are the namespace's default, in Node and in the bundle alike.
      processMetrics ??= import('prom-client').then(({ default: { Registry, collectDefaultMetrics } }) => {
        const registry = new Registry();
        collectDefaultMetrics({ register: registry });
        return registry;
      });
      const own = Object.values(families).map((family) => family.text());
      return `${own.join('\n\n')}\n\n${await (await processMetrics).metrics()}`;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
