/**
 * Getting originals: the originals tier in front of the source, with coalescing and a bounded
 * queue, for both whole objects and the metadata a conditional request needs. One fetch serves
 * every variant of a hot original; concurrent stats of one key share one HEAD. An original is
 * kept only once its bytes are sniffed as a supported image, so a store that briefly answers an
 * HTML page is not remembered for the tier's TTL. Faults are remembered per key only for the
 * short negative TTL (or the store's back-off), shared by fetches and stats: a failing store sees
 * one request per key per interval, however many clients ask.
 */
import { performance } from 'node:perf_hooks';
import { sniffFormat } from '../../transforms/sniff-format.js';
import type { CacheConfig } from '../config.js';
import { createMemoryTier } from '../cache/memory-tier.js';
import { NotFoundError, SourceTimeoutError, SourceTooLargeError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { ImageSource, SourceKey, SourceObject, SourceStat } from '../sources/source.js';
import type { TransformLimits } from '../../transforms/limits.js';
import type { QualityConfig } from '../quality-config.js';
import { autoQualityLookup, createAutoQualityRecord, type AutoQualityRecord, type QualityLookup } from './autoquality.js';
import { createNegativeCache } from './negative-cache.js';
import { createSharedWork } from './shared-work.js';
import type { WorkQueue } from './work-queue.js';

/** A source object with how long it took to get (0 from the originals tier). */
export interface Fetched {
  readonly object: KeptOriginal;
  readonly ms: number;
  /** Autoquality for this original: the pipeline asks it for each format's quality when the spec says `aq`. */
  readonly qualityFor?: QualityLookup;
}

/** An original as the tier keeps it: the object and what was measured about it (plain data). */
export interface KeptOriginal extends SourceObject {
  readonly autoQuality: AutoQualityRecord;
}

export interface Originals {
  fetch(key: SourceKey, signal: AbortSignal): Promise<Fetched>;
  /** The version a conditional request is compared with: from the tier, or a source stat. */
  stat(key: SourceKey, signal: AbortSignal): Promise<SourceStat>;
  /** Size of the original when it is kept (not counted as a lookup): what a transform of it may cost. */
  keptBytes(key: SourceKey): number | undefined;
  /** Drops the kept original of `key` (a purge); true when one was kept. */
  forget(key: SourceKey): boolean;
}

export interface OriginalsDeps {
  readonly source: ImageSource;
  readonly cache: CacheConfig;
  /** Bounds fetches and stats together: both hold a storage connection. */
  readonly queue: WorkQueue;
  readonly metrics: Metrics;
  /** Whether SVG counts as a supported image (ORIGIN_ALLOW_SVG) when deciding what to keep. */
  readonly allowSvg: boolean;
  /** Autoquality's settings; without them variants use the calibrated quality for their target. */
  readonly autoQuality?: { readonly config: QualityConfig; readonly limits: TransformLimits };
}

export function createOriginals({ source, cache, queue, metrics, allowSvg, autoQuality }: OriginalsDeps): Originals {
  const tier = createMemoryTier<KeptOriginal>(
    { maxBytes: cache.originalsBytes, maxEntryShare: cache.maxEntryShare, ttlSeconds: cache.ttlSeconds },
    (o) => o.bytes.byteLength,
  );
  const fetches = createSharedWork<Fetched>(() => metrics.coalesced.inc({ stage: 'source' }));
  const stats = createSharedWork<SourceStat>(() => metrics.coalesced.inc({ stage: 'stat' }));
  const faults = createNegativeCache({ ttlMs: cache.negativeTtlMs, backoffMaxMs: cache.backoffMaxMs });

  /** The answer for one original: its object and, with autoquality on, the lookup over its record. */
  const fetchedOf = (object: KeptOriginal, ms: number): Fetched => {
    if (!autoQuality) return { object, ms };
    return { object, ms, qualityFor: autoQualityLookup(object.autoQuality, object.bytes, autoQuality.config, autoQuality.limits) };
  };

  function kept(key: SourceKey): KeptOriginal | undefined {
    const object = tier.get(key);
    metrics.countCacheLookup('original', object !== undefined);
    return object;
  }

  /** Throws the fault remembered for `key`, if any (counted as a negative-tier hit or miss). */
  function assertNoFault(key: SourceKey): void {
    const fault = faults.get(key);
    metrics.countCacheLookup('negative', fault !== undefined);
    if (fault) throw fault;
  }

  /**
   * Runs shared work for `key`, remembering its fault before the flight ends, so a request
   * arriving just after the failure finds the fault rather than starting the work again.
   */
  async function remembering<T>(key: SourceKey, work: AbortSignal, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (!work.aborted) faults.remember(key, error);
      throw error;
    }
  }

  /** Runs one storage operation in the queue, counting its result and duration. */
  function metered<T>(run: () => Promise<T>, signal: AbortSignal, counter: Metrics['sourceFetches'], duration: Metrics['sourceFetchDuration']) {
    return queue.run(async () => {
      const started = performance.now();
      try {
        const result = await run();
        counter.inc({ result: 'ok' });
        return result;
      } catch (error) {
        counter.inc({ result: signal.aborted ? 'aborted' : resultLabel(error) });
        throw error;
      } finally {
        duration.observe((performance.now() - started) / 1000);
      }
    }, signal);
  }

  return {
    keptBytes: (key) => tier.peek(key)?.bytes.byteLength,
    async fetch(key, signal) {
      const object = kept(key);
      if (object) return fetchedOf(object, 0);
      assertNoFault(key);
      return fetches.run(key, signal, (work) =>
        remembering(key, work, async () => {
          const started = performance.now();
          const fetched = await metered(() => source.fetch(key, work), work, metrics.sourceFetches, metrics.sourceFetchDuration);
          sniffFormat(fetched.bytes, { allowSvg }); // 415 before it is kept: only images are remembered
          const original: KeptOriginal = { ...fetched, autoQuality: createAutoQualityRecord(fetched.version) };
          tier.set(key, original);
          // A whole image arrived: whatever a stat or fetch started earlier failed with is over.
          faults.forget(key);
          return fetchedOf(original, Math.round((performance.now() - started) * 10) / 10);
        }),
      );
    },
    forget: (key) => tier.delete(key),
    async stat(key, signal) {
      const object = kept(key);
      if (object) return { version: object.version, ...(object.lastModified && { lastModified: object.lastModified }) };
      assertNoFault(key);
      return stats.run(key, signal, (work) =>
        remembering(key, work, () => metered(() => source.stat(key, work), work, metrics.sourceStats, metrics.sourceStatDuration)),
      );
    },
  };
}

function resultLabel(error: unknown): string {
  if (error instanceof NotFoundError) return 'not_found';
  if (error instanceof SourceTooLargeError) return 'too_large';
  if (error instanceof SourceTimeoutError) return 'timeout';
  return 'error';
}
