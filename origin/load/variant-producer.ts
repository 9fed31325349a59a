/**
 * Makes variants under load: the two in-memory tiers (originals, variants), coalescing of
 * concurrent fetches and transforms, and the bounded queues in front of both. One source fetch
 * serves every variant of a hot original; one transform serves every request for a hot variant.
 * New work is refused (503) before the source is touched when the transform queue cannot take it.
 */
import { LRUCache } from 'lru-cache';
import { performance } from 'node:perf_hooks';
import type { CanonicalSpec } from '../../transforms/canonical.js';
import { NotFoundError, SourceTimeoutError, SourceTooLargeError } from '../../transforms/errors.js';
import type { TransformLimits } from '../../transforms/limits.js';
import { runPipeline } from '../../transforms/pipeline.js';
import { MIME_TYPES } from '../../transforms/formats.js';
import { createMemoryTier } from '../cache/memory-tier.js';
import type { CacheConfig, LoadConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import { parseKey } from '../sources/parse-key.js';
import type { ImageSource, SourceKey, SourceObject } from '../sources/source.js';
import { etagFor, type VariantKey } from '../variant-key.js';
import { createSharedWork } from './shared-work.js';
import { createWorkQueue } from './work-queue.js';

/** A produced variant: what every waiter and every later cache hit answers with. */
export interface Variant {
  readonly data: Buffer;
  readonly contentType: string;
  readonly etag: string;
  readonly lastModified?: Date | undefined;
  /** How long the producing request spent on the source and on the transform, in ms. */
  readonly sourceMs: number;
  readonly transformMs: number;
  readonly bytesIn: number;
}

export interface ProducerDeps {
  readonly source: ImageSource;
  readonly limits: TransformLimits;
  readonly load: LoadConfig;
  readonly cache: CacheConfig;
  readonly metrics: Metrics;
}

export interface VariantProducer {
  /** A kept variant, or undefined (counted as a hit or miss of the variant tier). */
  lookup(variant: VariantKey): Variant | undefined;
  /** True while the transform queue is deep enough that new variants should be made the cheap way. */
  shouldDegrade(): boolean;
  /** Joins or starts the work for `variant`; rejects with OverloadedError (503) when it cannot be taken. */
  produce(key: SourceKey, variant: VariantKey, spec: CanonicalSpec, signal: AbortSignal): Promise<Variant>;
  /** The same for a description of the source (`?info=1`): `render` turns the source bytes into a JSON body. */
  describe(key: SourceKey, variant: VariantKey, render: (bytes: Buffer) => Promise<string>, signal: AbortSignal): Promise<Variant>;
  readonly transformsQueued: number;
  readonly transformsRunning: number;
}

/** A source object with how long it took to get (0 from the originals tier). */
interface Fetched {
  readonly object: SourceObject;
  readonly ms: number;
}

/** What a production made, before it is stamped with identity and timings. */
interface Rendered {
  readonly data: Buffer;
  readonly contentType: string;
  /** Metrics label: the output format, or `info`. */
  readonly label: string;
}

/** How many recent variant keys are remembered to tell new variants from re-made ones. */
const RECENT_VARIANT_KEYS = 50_000;

export function createVariantProducer(deps: ProducerDeps): VariantProducer {
  const { source, limits, load, cache, metrics } = deps;
  const transformQueue = createWorkQueue({
    concurrency: load.transformConcurrency,
    maxQueue: load.transformQueue,
    maxWaitMs: load.transformWaitMs,
  });
  // Fetches wait at most as long as the whole request may take; the deadline ends them sooner.
  const fetchQueue = createWorkQueue({ concurrency: load.fetchConcurrency, maxQueue: load.fetchQueue, maxWaitMs: load.requestDeadlineMs });
  const originals = createMemoryTier<SourceObject>(
    { maxBytes: cache.originalsBytes, maxEntryShare: cache.maxEntryShare, ttlSeconds: cache.ttlSeconds },
    (o) => o.bytes.byteLength,
  );
  const variants = createMemoryTier<Variant>(
    { maxBytes: cache.variantsBytes, maxEntryShare: cache.maxEntryShare, ttlSeconds: cache.ttlSeconds },
    (v) => v.data.byteLength,
  );
  const fetches = createSharedWork<Fetched>(() => metrics.coalesced.inc({ stage: 'source' }));
  const productions = createSharedWork<Variant>(() => metrics.coalesced.inc({ stage: 'variant' }));
  const recentKeys = new LRUCache<string, true>({ max: RECENT_VARIANT_KEYS });

  async function fetchOriginal(key: SourceKey, signal: AbortSignal): Promise<Fetched> {
    const kept = originals.get(key);
    metrics.cacheRequests.inc({ tier: 'original', result: kept ? 'hit' : 'miss' });
    if (kept) return { object: kept, ms: 0 };
    return fetches.run(key, signal, (work) =>
      fetchQueue.run(async () => {
        const started = performance.now();
        try {
          const object = await source.fetch(key, work);
          metrics.sourceFetches.inc({ result: 'ok' });
          originals.set(key, object);
          return { object, ms: elapsedSince(started) };
        } catch (error) {
          metrics.sourceFetches.inc({ result: work.aborted ? 'aborted' : fetchResult(error) });
          throw error;
        } finally {
          metrics.sourceFetchDuration.observe((performance.now() - started) / 1000);
        }
      }, work),
    );
  }

  /**
   * The shared shape of every production: reserve a transform place (shedding here, before the
   * source is touched), fetch the source and any extra source (a watermark logo), render in a
   * transform slot, keep the result.
   */
  async function make(
    key: SourceKey,
    variant: VariantKey,
    signal: AbortSignal,
    extraKey: SourceKey | undefined,
    render: (source: Buffer, extra: Buffer | undefined) => Promise<Rendered>,
  ): Promise<Variant> {
    const place = transformQueue.reserve();
    let fetched: [Fetched, Fetched | undefined];
    try {
      fetched = await Promise.all([fetchOriginal(key, signal), extraKey && fetchOriginal(extraKey, signal)]);
    } catch (error) {
      place.cancel();
      throw error;
    }
    const [{ object, ms: sourceMs }, extra] = fetched;
    const { rendered, ms: transformMs } = await place.run(async () => {
      const started = performance.now();
      const rendered = await render(object.bytes, extra?.object.bytes);
      return { rendered, ms: elapsedSince(started) };
    }, signal);
    metrics.transforms.inc({ format: rendered.label });
    metrics.transformDuration.observe({ format: rendered.label }, transformMs / 1000);
    if (!recentKeys.has(variant)) {
      recentKeys.set(variant, true);
      metrics.newVariants.inc();
    }
    // The logo's version is part of the representation: a new logo is a new ETag.
    const version = extra ? `${object.version}+${extra.object.version}` : object.version;
    const made: Variant = {
      data: rendered.data,
      contentType: rendered.contentType,
      etag: etagFor(variant, version),
      lastModified: object.lastModified,
      sourceMs,
      transformMs,
      bytesIn: object.bytes.byteLength,
    };
    variants.set(variant, made);
    return made;
  }

  async function renderImage(spec: CanonicalSpec, source: Buffer, logo: Buffer | undefined): Promise<Rendered> {
    const result = await runPipeline(source, spec, limits, logo ? { watermarkLogo: logo } : {});
    return { data: result.data, contentType: MIME_TYPES[result.format], label: result.format };
  }

  return {
    lookup(variant) {
      const kept = variants.get(variant);
      metrics.cacheRequests.inc({ tier: 'variant', result: kept ? 'hit' : 'miss' });
      return kept;
    },
    shouldDegrade: () => transformQueue.queued >= load.degradeQueueDepth && load.degradeQueueDepth > 0,
    produce: (key, variant, spec, signal) =>
      productions.run(variant, signal, (work) =>
        make(key, variant, work, spec.watermark?.kind === 'image' ? logoKey(spec.watermark.key) : undefined, (source, logo) =>
          renderImage(spec, source, logo),
        ),
      ),
    describe: (key, variant, render, signal) =>
      productions.run(variant, signal, (work) =>
        make(key, variant, work, undefined, async (source) => ({
          data: Buffer.from(await render(source)),
          contentType: 'application/json; charset=utf-8',
          label: 'info',
        })),
      ),
    get transformsQueued() {
      return transformQueue.queued;
    },
    get transformsRunning() {
      return transformQueue.running;
    },
  };
}

/** A watermark's logo key comes from the operator's preset file, but goes through the same checks as request keys. */
function logoKey(key: string): SourceKey {
  return parseKey(`/${key}`);
}

function elapsedSince(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

function fetchResult(error: unknown): string {
  if (error instanceof NotFoundError) return 'not_found';
  if (error instanceof SourceTooLargeError) return 'too_large';
  if (error instanceof SourceTimeoutError) return 'timeout';
  return 'error';
}
