/**
 * Making variants under load: the variant tier, coalescing of concurrent productions of one
 * variant, and the bounded transform queue. A production reserves its queue place before the
 * source is fetched, so a request that would be shed is refused before it touches storage.
 */
import { LRUCache } from 'lru-cache';
import { performance } from 'node:perf_hooks';
import type { TransformLimits } from '../../transforms/limits.js';
import { InvalidRequestError } from '../../transforms/errors.js';
import { KEY_VERSION } from '../../transforms/canonical.js';
import { createMemoryTier } from '../cache/memory-tier.js';
import type { CacheConfig } from '../config.js';
import { NotFoundError, SourceUnavailableError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { SourceKey } from '../sources/source.js';
import { etagFor, type VariantKey } from '../variant-key.js';
import { logoMark } from '../../transforms/watermark.js';
import { createDecodes } from './decodes.js';
import { costClass, createDegradePolicy } from './degrade-policy.js';
import type { StoredResults } from '../store/result-tier.js';
import { economyJob, isEconomy, type Job } from './jobs.js';
import type { Fetched, Originals } from './originals.js';
import type { BackgroundRenderer } from './background-renderer.js';
import { memoryFor, renderJob } from './render-job.js';
import { createSharedWork } from './shared-work.js';
import type { WorkQueue } from './work-queue.js';

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

export interface Variants {
  /** A kept variant, or undefined (counted as a hit or miss of the variant tier). */
  lookup(job: Job): Variant | undefined;
  /** `lookup` that counts a hit only: for the hit path, whose misses the full flow looks up (and counts) again. */
  lookupHit(job: Job): Variant | undefined;
  /**
   * The economy twin to make instead of `job`, or undefined to make `job`: a twin only while the
   * transform queue is deep, and then only if the degrade policy (degrade-policy.ts) does not give
   * `job` full quality; never when the full-quality variant is already being made, since joining
   * it costs nothing more.
   */
  degradedTwin(job: Job): Job | undefined;
  /**
   * Joins or starts the work for `job`; rejects with OverloadedError (503) when it cannot be taken.
   * A `background` job (a pre-render) is made by the background renderer when there is one, outside
   * the transform queue, and live requests never join it: they would wait at its low priority.
   */
  make(job: Job, signal: AbortSignal, priority?: Priority): Promise<Variant>;
  /** Drops every kept variant of `key` (a purge, a block); returns how many. */
  forget(key: SourceKey): number;
}

export type Priority = 'live' | 'background';

export interface VariantsDeps {
  readonly originals: Originals;
  readonly limits: TransformLimits;
  readonly cache: CacheConfig;
  readonly queue: WorkQueue;
  /** Queue depth from which new variants are made the cheap way; 0 never degrades. */
  readonly degradeQueueDepth: number;
  readonly metrics: Metrics;
  /** The fleet's result store (`store/`): asked before making a variant, told of each full-quality one made. */
  readonly results?: StoredResults | undefined;
  /** Makes background jobs at low CPU priority (background-renderer.ts); without it they run like live ones. */
  readonly background?: BackgroundRenderer | undefined;
}

/** How many recent variant keys are remembered to tell new variants from re-made ones. */
const RECENT_VARIANT_KEYS = 50_000;

export function createVariants({ originals, limits, cache, queue, degradeQueueDepth, metrics, results, background }: VariantsDeps): Variants {
  const tier = createMemoryTier<Variant>(
    { maxBytes: cache.variantsBytes, maxEntryShare: cache.maxEntryShare, ttlSeconds: cache.ttlSeconds },
    (v) => v.data.byteLength,
  );
  const productions = createSharedWork<Variant>(() => metrics.coalesced.inc({ stage: 'variant' }));
  // Counted by maxSize, not max: lru-cache preallocates arrays for `max` entries, 10 ms of start-up here.
  const recentKeys = new LRUCache<VariantKey, true>({ maxSize: RECENT_VARIANT_KEYS, sizeCalculation: () => 1 });
  const degrading = createDegradePolicy({ concurrency: queue.concurrency });
  const decodes = createDecodes(cache.decodesBytes, metrics);
  const costOf = (job: Job & { kind: 'image' }) => {
    const { w, h, fm, eco } = job.spec;
    const pixels = w === undefined && h === undefined ? undefined : (w ?? h ?? 0) * (h ?? w ?? 0);
    return costClass(fm, eco === true, pixels, originals.keptBytes(job.key));
  };

  async function produce(job: Job, signal: AbortSignal, lowPriority: BackgroundRenderer | undefined): Promise<Variant> {
    const place = lowPriority ? undefined : queue.reserve(); // 503 here, before the source is touched
    let fetched: [Fetched, Fetched | undefined];
    let memoryBytes = 0;
    try {
      const logoKey = job.kind === 'image' ? job.logoKey : undefined;
      fetched = await Promise.all([originals.fetch(job.key, signal), logoKey && fetchLogo(originals, job, logoKey, signal)]);
      // Sized from the header before it takes a slot, so large encodes cannot pile up (work-queue.ts).
      if (place) memoryBytes = await memoryFor(job, fetched[0].object.bytes, limits);
    } catch (error) {
      place?.cancel();
      throw error;
    }
    const [{ object, ms: sourceMs, qualityFor }, logo] = fetched;
    const render = async () => {
      const started = performance.now();
      const assets = { logo: logo?.object.bytes, qualityFor };
      const rendered = lowPriority
        ? await lowPriority.render(job, object.bytes, assets)
        : await renderJob(job, object.bytes, { ...assets, decodes: job.kind === 'image' ? decodes.forVariant(job.key, object.version) : undefined }, limits);
      return { rendered, ms: Math.round((performance.now() - started) * 10) / 10 };
    };
    const { rendered, ms: transformMs } = place ? await place.run(render, signal, memoryBytes) : await render();
    metrics.transforms.inc({ format: rendered.label });
    // A low-priority render's time says nothing about what a live one costs.
    if (job.kind === 'image' && place) degrading.observe(costOf(job), transformMs);
    metrics.transformDuration.observe({ format: rendered.label }, transformMs / 1000);
    if (!recentKeys.has(job.variant)) {
      recentKeys.set(job.variant, true);
      metrics.newVariants.inc();
    }
    // The logo's version is part of the representation: a new logo is a new ETag.
    const version = logo ? `${object.version}+${logo.object.version}` : object.version;
    const made: Variant = {
      data: rendered.data,
      contentType: rendered.contentType,
      etag: etagFor(job.variant, version),
      lastModified: object.lastModified,
      sourceMs,
      transformMs,
      bytesIn: object.bytes.byteLength,
    };
    tier.set(job.variant, made);
    if (!isEconomy(job)) results?.keep(job, made, version);
    return made;
  }

  /** The result store's copy when it has one (filling the memory tier), else made now. */
  async function findOrProduce(job: Job, signal: AbortSignal, lowPriority: BackgroundRenderer | undefined): Promise<Variant> {
    const stored = await results?.find(job, signal);
    if (!stored) return produce(job, signal, lowPriority);
    tier.set(job.variant, stored);
    return stored;
  }

  return {
    lookup(job) {
      const kept = tier.get(job.variant);
      metrics.countCacheLookup('variant', kept !== undefined);
      return kept;
    },
    lookupHit(job) {
      const kept = tier.get(job.variant);
      if (kept !== undefined) metrics.countCacheLookup('variant', true);
      return kept;
    },
    degradedTwin(job) {
      if (job.kind !== 'image' || degradeQueueDepth === 0 || productions.has(job.variant)) return undefined;
      const economy = economyJob(job);
      const degrade = economy?.kind === 'image' && degrading.shouldDegrade(costOf(job), costOf(economy), queue.queued >= degradeQueueDepth);
      return degrade ? economy : undefined;
    },
    make(job, signal, priority = 'live') {
      const lowPriority = priority === 'background' ? background : undefined;
      // A name of its own: a live request makes its own copy rather than wait on a low-priority one.
      const name = lowPriority ? `background:${job.variant}` : job.variant;
      return productions.run(name, signal, (work) => findOrProduce(job, work, lowPriority));
    },
    // Every variant key of a source starts so (variant-key.ts, jobs.ts).
    forget: (key) => tier.deletePrefix(`${KEY_VERSION}:${key}?`),
  };
}

/**
 * A watermark's logo, fetched like any original; a missing one is not a missing photo. A logo the
 * URL named (OSS `image_`) is the client's mistake: 400. One the preset file names is the
 * operator's: a configuration error, 502 and never cached.
 */
async function fetchLogo(originals: Originals, job: Job, logoKey: SourceKey, signal: AbortSignal): Promise<Fetched> {
  try {
    return await originals.fetch(logoKey, signal);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    const fromRequest = job.kind === 'image' && logoMark(job.spec.wm)?.fromRequest === true;
    if (fromRequest) {
      throw new InvalidRequestError([{ param: 'x-oss-process', message: `watermark logo "${logoKey}" not found` }], 'WATERMARK_NOT_FOUND');
    }
    throw new SourceUnavailableError(`watermark logo "${logoKey}" named by the preset file is missing`, {
      cause: error,
      isConfigurationError: true,
      code: 'WATERMARK_NOT_FOUND',
    });
  }
}
