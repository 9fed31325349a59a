/**
 * The result store as a tier of the variant lookup: behind the memory tier, in front of making
 * the variant. A lookup asks the source's version first (from the originals tier, else one
 * coalesced stat), since the stored name binds it; a read slower than its short timeout, or
 * failing, is a miss, counted and logged once per interval, never a failed request. Full-quality
 * variants are written afterwards through a bounded queue; degraded ones never.
 */
import { performance } from 'node:perf_hooks';
import type { Job } from '../load/jobs.js';
import { isEconomy } from '../load/jobs.js';
import type { Originals } from '../load/originals.js';
import type { Variant } from '../load/variants.js';
import type { Metrics } from '../metrics.js';
import type { SourceKey } from '../sources/source.js';
import { etagFor, type VariantKey } from '../variant-key.js';
import type { ObjectStore } from './object-store.js';
import { resultName, sourceFolder } from './result-key.js';
import type { ResultStoreConfig } from './store-config.js';
import type { ThrottledLog } from './throttled-log.js';
import { createWriteQueue } from './write-queue.js';

/** What `variants.ts` asks of the store: the hook stays these two calls. */
export interface StoredResults {
  /** The stored variant, or undefined (a miss, or a store that failed or was too slow). */
  find(job: Job, signal: AbortSignal): Promise<Variant | undefined>;
  /** Queues the write of a variant just made from `version` of its source (economy ones are ignored). */
  keep(job: Job, made: Variant, version: string): void;
}

export interface ResultTier extends StoredResults {
  readonly description: string;
  /** Resolves once the write queued for `variant`, if any, has finished. */
  written(variant: VariantKey): Promise<void>;
  /** Removes every stored result of `key`; resolves with how many were removed. */
  purge(key: SourceKey, signal?: AbortSignal): Promise<number>;
  readonly queueDepth: number;
  /** Waits for queued writes (bounded by their timeout), then closes the store's connections. */
  close(): Promise<void>;
}

export interface ResultTierDeps {
  readonly store: ObjectStore;
  readonly config: Pick<ResultStoreConfig, 'readTimeoutMs' | 'writeTimeoutMs' | 'writeQueue'>;
  readonly originals: Originals;
  readonly metrics: Metrics;
  readonly log: ThrottledLog;
}

/** Writes running at once: the store's PUTs are cheap next to transforms. */
const WRITE_CONCURRENCY = 4;

function failureLabel(error: unknown, timeout: AbortSignal): string {
  return timeout.aborted ? 'timeout' : error instanceof Error && error.name === 'AbortError' ? 'aborted' : 'error';
}

export function createResultTier({ store, config, originals, metrics, log }: ResultTierDeps): ResultTier {
  const writes = createWriteQueue({ concurrency: WRITE_CONCURRENCY, maxQueue: config.writeQueue });
  const count = (op: string, result: string) => metrics.resultStoreRequests.inc({ op, result });

  /** The version the stored name binds: the source's, and the logo's for an image watermark. */
  async function versionOf(job: Job, signal: AbortSignal): Promise<{ version: string; lastModified?: Date | undefined }> {
    const logoKey = job.kind === 'image' ? job.logoKey : undefined;
    const [stat, logo] = await Promise.all([originals.stat(job.key, signal), logoKey && originals.stat(logoKey, signal)]);
    return { version: logo ? `${stat.version}+${logo.version}` : stat.version, lastModified: stat.lastModified };
  }

  async function timed<T>(op: string, ms: number, signal: AbortSignal | undefined, run: (bounded: AbortSignal) => Promise<T>): Promise<T> {
    const timeout = AbortSignal.timeout(ms);
    const bounded = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await run(bounded);
    } catch (error) {
      const label = failureLabel(error, timeout);
      count(op, label);
      if (label !== 'aborted') log.report(op, error);
      throw error;
    }
  }

  return {
    description: store.description,
    async find(job, signal) {
      if (isEconomy(job)) return undefined;
      const started = performance.now();
      let version: string;
      let lastModified: Date | undefined;
      try {
        ({ version, lastModified } = await versionOf(job, signal));
      } catch {
        return undefined; // making it reports the source's fault properly
      }
      const etag = etagFor(job.variant, version);
      let found;
      try {
        found = await timed('get', config.readTimeoutMs, signal, (bounded) => store.read(resultName(job.key, job.variant, version), bounded));
      } catch {
        return undefined; // counted and logged by `timed`; the variant is made instead
      }
      // A result under this name whose ETag differs was made by something else: not ours to answer.
      if (!found || found.meta['etag'] !== etag) {
        count('get', 'miss');
        return undefined;
      }
      count('get', 'hit');
      const stamp = found.meta['last-modified'];
      const kept = stamp === undefined ? lastModified : new Date(stamp);
      return {
        data: found.bytes,
        contentType: found.contentType,
        etag,
        lastModified: kept && !Number.isNaN(kept.getTime()) ? kept : undefined,
        sourceMs: Math.round((performance.now() - started) * 10) / 10,
        transformMs: 0,
        bytesIn: 0,
      };
    },
    keep(job, made, version) {
      if (isEconomy(job)) return;
      const name = resultName(job.key, job.variant, version);
      const meta: Record<string, string> = { etag: made.etag, ...(made.lastModified && { 'last-modified': made.lastModified.toISOString() }) };
      const queued = writes.offer(job.variant, () =>
        timed('put', config.writeTimeoutMs, undefined, (bounded) => store.write(name, { bytes: made.data, contentType: made.contentType, meta }, bounded)).then(() =>
          count('put', 'ok'),
        ),
      );
      if (!queued) count('put', 'dropped');
    },
    written: (variant) => writes.settled(variant),
    async purge(key, signal) {
      const names = await timed('list', config.writeTimeoutMs, signal, (bounded) => store.list(sourceFolder(key), bounded));
      count('list', 'ok');
      for (const name of names) {
        await timed('delete', config.writeTimeoutMs, signal, (bounded) => store.remove(name, bounded));
        count('delete', 'ok');
      }
      return names.length;
    },
    get queueDepth() {
      return writes.depth;
    },
    async close() {
      await writes.drain();
      await store.close();
    },
  };
}
