/**
 * Pre-rendering: the variants a created object will be asked for (`ORIGIN_PRERENDER` presets ×
 * the three format tokens × the DPR steps each preset lets clients set), made into the result
 * store before the first request. Each is planned by the live request flow itself (`planRequest`
 * over a synthetic request), so its key is exactly the one a CDN request will look up.
 *
 * It runs at low priority: one variant at a time, only while the transform queue has a free slot
 * and nobody waiting, and, in the server, in a process of its own at the lowest CPU priority
 * (`load/background-renderer.ts`), so a live request arriving mid-render still gets the cores.
 * Keys wait in a bounded queue; a key already queued (or done for the same ETag) is not queued
 * again, so a re-delivered event does no work twice, and a result already in the store is skipped
 * (which is what lets a backfill resume).
 */
import { LRUCache } from 'lru-cache';
import type { FormatToken } from '../../transforms/formats.js';
import type { PresetRegistry } from '../../presets/preset-registry.js';
import { TransformTimeoutError } from '../../transforms/errors.js';
import { OverloadedError } from '../errors.js';
import { createRequestMemo } from '../flow/request-memo.js';
import { planRequest, type FlowDeps } from '../flow/serve-image.js';
import type { Job } from '../load/jobs.js';
import type { Variants } from '../load/variants.js';
import type { WorkQueue } from '../load/work-queue.js';
import type { Metrics } from '../metrics.js';
import type { RequestDeps } from '../request/read-request.js';
import { encodeS3Key } from '../sources/s3-key.js';
import type { SourceKey } from '../sources/source.js';
import type { ResultTier } from '../store/result-tier.js';

export interface PrerenderCounts {
  done: number;
  skipped: number;
  failed: number;
}

export interface Prerenderer {
  /** Queues `key` (with the ETag its event named): `duplicate` when already queued or done for it, `full` when the queue is. */
  offer(key: SourceKey, etag?: string): 'queued' | 'duplicate' | 'full';
  /** Renders every pre-render variant of `key` now (the CLI, and the queue's worker). */
  renderKey(key: SourceKey, signal?: AbortSignal): Promise<PrerenderCounts>;
  /** Keys waiting or being rendered. */
  readonly depth: number;
  /** Resolves once the queue is empty and nothing is being rendered. */
  idle(): Promise<void>;
  stop(): void;
}

export interface PrerenderDeps {
  readonly presets: readonly string[];
  readonly registry: PresetRegistry;
  readonly dprSteps: readonly number[];
  readonly flow: FlowDeps;
  /** How the flow reads requests: pre-renders read theirs without signatures and without a memo. */
  readonly reading: RequestDeps;
  readonly variants: Variants;
  readonly results: ResultTier;
  readonly transformQueue: WorkQueue;
  readonly transformConcurrency: number;
  readonly maxQueue: number;
  readonly metrics: Metrics;
  /** A failed variant, for the log (never throws). */
  readonly onFailure?: (key: string, variant: string, error: unknown) => void;
}

const TOKENS: readonly FormatToken[] = ['avif', 'webp', 'legacy'];
/** How often a waiting pre-render looks for a free transform slot. */
const SLOT_POLL_MS = 25;
/** A variant refused for load (or timed out) is tried again this many times before it counts as failed. */
const OVERLOAD_RETRIES = 20;
const RECENT_EVENTS = 50_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Every pre-render job of `key`, de-duplicated by variant key (a preset that fixes `fm` ignores the token). */
export function planPrerender(deps: Pick<PrerenderDeps, 'presets' | 'registry' | 'dprSteps' | 'flow' | 'reading'>, key: SourceKey): Job[] {
  // The URL signature guards the CDN-facing port; a pre-render plans its own requests.
  const flow: FlowDeps = { ...deps.flow, memo: createRequestMemo({ ...deps.reading, signingKeys: [] }, 0), isBlocked: undefined };
  const jobs = new Map<string, Job>();
  const path = `/${encodeS3Key(key)}`;
  for (const name of deps.presets) {
    const preset = deps.registry.get(name);
    if (!preset) continue;
    const dprs = preset.overridable.has('dpr') ? deps.dprSteps : [1];
    for (const token of TOKENS) {
      for (const dpr of dprs) {
        const rawQuery = `preset=${encodeURIComponent(name)}${dpr === 1 ? '' : `&dpr=${dpr}`}`;
        const header = (h: string) => (h === 'x-image-format-token' ? token : undefined);
        const { job } = planRequest(flow, { path, rawQuery, header });
        jobs.set(job.variant, job);
      }
    }
  }
  return [...jobs.values()];
}

export function createPrerenderer(deps: PrerenderDeps): Prerenderer {
  const waiting: { key: SourceKey; id: string }[] = [];
  const seen = new LRUCache<string, true>({ max: RECENT_EVENTS });
  const queued = new Set<string>();
  let active = 0;
  let stopped = false;
  let idlers: (() => void)[] = [];

  /** True while a live request could use the slot: then the pre-render waits. */
  const busy = () => deps.transformQueue.running + deps.transformQueue.queued >= deps.transformConcurrency;

  async function renderJob(job: Job, signal: AbortSignal | undefined): Promise<keyof PrerenderCounts> {
    const work = signal ?? new AbortController().signal;
    if (await deps.results.find(job, work)) return 'skipped';
    for (let attempt = 0; ; attempt++) {
      while (busy() && !stopped) await sleep(SLOT_POLL_MS);
      if (stopped) throw new Error('pre-rendering stopped');
      try {
        await deps.variants.make(job, work, 'background');
        await deps.results.written(job.variant);
        return 'done';
      } catch (error) {
        // Refused for load, or starved past the time budget at low priority: try again later.
        const retry = error instanceof OverloadedError || error instanceof TransformTimeoutError;
        if (!retry || attempt >= OVERLOAD_RETRIES) throw error;
        await sleep(SLOT_POLL_MS * 4);
      }
    }
  }

  async function renderKey(key: SourceKey, signal?: AbortSignal): Promise<PrerenderCounts> {
    const counts: PrerenderCounts = { done: 0, skipped: 0, failed: 0 };
    let jobs: Job[];
    try {
      jobs = planPrerender(deps, key);
    } catch (error) {
      deps.onFailure?.(key, '(plan)', error);
      counts.failed++;
      deps.metrics.prerender.inc({ result: 'failed' });
      return counts;
    }
    for (const job of jobs) {
      let result: keyof PrerenderCounts;
      try {
        result = await renderJob(job, signal);
      } catch (error) {
        deps.onFailure?.(key, job.variant, error);
        result = 'failed';
      }
      counts[result]++;
      deps.metrics.prerender.inc({ result });
    }
    return counts;
  }

  async function pump(): Promise<void> {
    if (active > 0) return;
    active++;
    try {
      while (waiting.length > 0 && !stopped) {
        const next = waiting.shift()!;
        try {
          await renderKey(next.key);
        } finally {
          queued.delete(next.key);
          seen.set(next.id, true);
        }
      }
    } finally {
      active--;
      for (const resolve of idlers) resolve();
      idlers = [];
    }
  }

  return {
    offer(key, etag) {
      const id = `${key}\n${etag ?? ''}`;
      if (queued.has(key) || (etag !== undefined && seen.has(id))) return 'duplicate';
      if (waiting.length >= deps.maxQueue) return 'full';
      queued.add(key);
      waiting.push({ key, id });
      void pump();
      return 'queued';
    },
    renderKey,
    get depth() {
      return waiting.length + active;
    },
    idle: () => (waiting.length === 0 && active === 0 ? Promise.resolve() : new Promise<void>((resolve) => idlers.push(resolve))),
    stop() {
      stopped = true;
      waiting.length = 0;
    },
  };
}
