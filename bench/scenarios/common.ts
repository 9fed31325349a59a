/** Parts the HTTP scenarios share: a fresh origin per run, warm-up, and reading the outcomes. */
import { sleep, type ChildRecord } from '../children.js';
import { runLoad, type ErrorKind, type LoadOptions, type LoadResult, type Outcome } from '../http-load.js';
import type { ScenarioName } from '../options.js';
import { metricSum, probe, startOriginProcess, type MetricSamples, type ProbeAnswer, type RunningOriginProcess } from '../origin-process.js';
import { collectProfile, type SavedProfile } from '../profile.js';
import { round, summarizeLatency } from '../stats.js';
import { processMemory, type CpuWindowResult } from '../system.js';
import { CLIENT_WEIGHTS, requestHeaders, requestPath, type ClientKind, type ImageRequest } from '../workload.js';
import type { Json, ScenarioContext } from './types.js';

/** Longer than the origin's own request deadline (30 s): a client timeout means the origin hung. */
export const CLIENT_TIMEOUT_MS = 35_000;

export interface OriginRun<T> {
  readonly value: T;
  readonly peakRssMb: number | null;
  readonly exit: ChildRecord;
  readonly logLines: number;
  /** The last line the origin logged (warnings and errors only), shortened; null when silent. */
  readonly logSample: string | null;
  readonly allocatorLoaded: boolean | null;
  /** The checked CPU profile when this run was profiled (`--profile`). */
  readonly profile: SavedProfile | undefined;
}

/**
 * Runs `body` against a fresh origin process and always stops it (SIGTERM, drain, exit) after,
 * reporting its peak RSS, whether it exited cleanly and, for the first run of a scenario named by
 * `--profile`, its CPU profile.
 */
export async function withOrigin<T>(
  ctx: ScenarioContext,
  run: { readonly name: ScenarioName; readonly round: number },
  body: (origin: RunningOriginProcess) => Promise<T>,
): Promise<OriginRun<T>> {
  const role = `origin (${run.name} #${run.round})`;
  const profiled = ctx.profile !== undefined && ctx.profile.scenarios.has(run.name) && run.round === 1 ? ctx.profile : undefined;
  const origin = await startOriginProcess(ctx.origin, ctx.storage.env, ctx.children, {
    role,
    ...(profiled && { cpuProfileDir: profiled.dir }),
  });
  let value: T;
  let peakRss: number | null;
  let allocatorLoaded: boolean | null;
  let exit: ChildRecord;
  try {
    value = await body(origin);
    peakRss = await origin.peakRss();
    allocatorLoaded = origin.allocatorLoaded();
  } finally {
    exit = await origin.stop();
  }
  ctx.observeAllocator(allocatorLoaded);
  if (exit.exitCode !== 0) ctx.log(`  ! ${role} exited with ${exit.exitCode ?? exit.signal}:\n${origin.logTail()}`);
  let profile: SavedProfile | undefined;
  if (profiled) {
    profile = await collectProfile(profiled.dir, origin.pid, profiled.out(run.name));
    ctx.log(`  CPU profile of the origin during ${run.name}: ${profile.path} (${profile.samples} samples)`);
    ctx.log(`  main thread idle ${(profile.idleShare * 100).toFixed(1)}% (libvips' threads, where transforms run, are not sampled); top self time:`);
    for (const line of profile.top) ctx.log(`    ${line}`);
    const { over3Ms, over10Ms, longestMs } = profile.stalls;
    ctx.log(`  main thread not sampled for over 3 ms ${over3Ms} times (over 10 ms ${over10Ms}, longest ${longestMs} ms): it waited for a core`);
  }
  const lastLine = origin.logTail().split('\n').filter(Boolean).pop();
  return {
    value,
    peakRssMb: peakRss === null ? null : round(peakRss / 1e6, 0),
    exit,
    logLines: origin.logLines(),
    logSample: lastLine === undefined ? null : lastLine.slice(0, 400),
    allocatorLoaded,
    profile,
  };
}

/** What every load scenario's `extra` ends with: arrivals not sent, the origin's counters, exit, profile and log. */
export function originRunFigures(load: LoadResult<ImageRequest>, counters: OriginCounters, run: OriginRun<unknown>) {
  return {
    not_sent: load.notSent,
    origin_counters: counters,
    origin_exit_code: run.exit.exitCode,
    profile: profileFigures(run.profile),
    origin_log_lines: run.logLines,
    origin_log_sample: run.logSample,
  };
}

/** The profile's summary for a run's `extra` (null when not profiled). */
export function profileFigures(profile: SavedProfile | undefined): Json {
  return profile
    ? { path: profile.path, bytes: profile.bytes, nodes: profile.nodes, samples: profile.samples, idle_share: round(profile.idleShare, 3), top: profile.top, stalls: profile.stalls }
    : null;
}

export interface WarmOptions {
  /** Tries per request: more than one behind a storage that fails on purpose (soak); a 5xx is retried after 1 s. */
  readonly attempts?: number;
  /** The variant asked for; default a small one (`w=64`). */
  readonly query?: string;
}

/**
 * One variant of each key for each client kind (the three kinds at once): the originals land in
 * the originals tier and every codec (AVIF, WebP, JPEG, PNG) has run once before anything is
 * measured.
 */
export async function warmOriginals(origin: RunningOriginProcess, keys: readonly string[], options: WarmOptions = {}): Promise<void> {
  const { attempts = 1, query = 'w=64' } = options;
  const warm = async (request: ImageRequest) => {
    let res: ProbeAnswer | undefined;
    for (let i = 0; i < attempts && (i === 0 || res === undefined || res.status >= 500); i++) {
      // The origin's Retry-After on a 503 is 1 s; a storage fault clears at once, but waiting is harmless.
      if (i > 0) await sleep(1_000);
      res = await probe(`${origin.base}${requestPath(request)}`, requestHeaders(request));
    }
    if (res?.status !== 200) {
      throw new Error(`warm-up ${requestPath(request)} answered ${res?.status ?? 'nothing'}: ${res?.body.toString().slice(0, 300) ?? ''}`);
    }
  };
  for (const key of keys) {
    await Promise.all((Object.keys(CLIENT_WEIGHTS) as ClientKind[]).map((client) => warm({ key, query, client })));
  }
}

/** Completed inside the measurement window (requests still running at its end count for latency only). */
export const inWindow = (load: LoadResult) => (o: Outcome) => o.end <= load.windowSeconds * 1000;

export function countStatuses(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.error ? `error:${o.error}` : String(o.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export function countErrors(outcomes: readonly Outcome[]): Record<ErrorKind, number> {
  const counts: Record<ErrorKind, number> = { reset: 0, timeout: 0, other: 0 };
  for (const o of outcomes) if (o.error) counts[o.error]++;
  return counts;
}

/** First error messages, to tell what went wrong without a debugger. */
export function errorSamples(outcomes: readonly Outcome[], max = 3): string[] {
  return [...new Set(outcomes.filter((o) => o.error).map((o) => `${o.error}: ${o.errorMessage ?? ''}`))].slice(0, max);
}

export interface CpuFigures {
  readonly server_cores: number | null;
  readonly loadgen_cores: number | null;
  readonly storage_cores: number | null;
  readonly other_cores: number | null;
  readonly steal: number | null;
}

/** The machine's CPU less the watched processes' (plus `unwatched`, e.g. a load tool measured by itself). */
export function otherCores(cpu: CpuWindowResult, unwatched = 0): number | null {
  if (cpu.machineCores === null) return null;
  const watched = Object.values(cpu.cores).reduce<number>((sum, v) => sum + (v ?? 0), 0);
  return round(Math.max(0, cpu.machineCores - watched - unwatched), 2);
}

export function cpuFigures(cpu: CpuWindowResult): CpuFigures {
  const r = (v: number | null | undefined) => (v === null || v === undefined ? null : round(v, 2));
  return {
    server_cores: r(cpu.cores['origin']),
    loadgen_cores: r(cpu.cores['loadgen']),
    storage_cores: r(cpu.cores['storage']),
    other_cores: otherCores(cpu),
    steal: r(cpu.steal === null ? null : cpu.steal),
  };
}

/** Counter increase between two /metrics snapshots. */
export function metricDelta(before: MetricSamples, after: MetricSamples, name: string, labels = ''): number {
  return metricSum(after, name, labels) - metricSum(before, name, labels);
}

export type OriginCounters = {
  readonly transforms: number;
  readonly variant_hits: number;
  readonly variant_misses: number;
  readonly original_hits: number;
  readonly original_misses: number;
  readonly source_fetches: number;
  readonly coalesced: number;
  readonly degraded: number;
  readonly shed: number;
};

/** The origin's own account of a run: what it transformed, kept, degraded and shed. */
export function originCounters(before: MetricSamples, after: MetricSamples): OriginCounters {
  const d = (name: string, labels = '') => metricDelta(before, after, name, labels);
  return {
    transforms: d('image_origin_transforms_total'),
    variant_hits: d('image_origin_cache_requests_total', 'tier="variant",result="hit"'),
    variant_misses: d('image_origin_cache_requests_total', 'tier="variant",result="miss"'),
    original_hits: d('image_origin_cache_requests_total', 'tier="original",result="hit"'),
    original_misses: d('image_origin_cache_requests_total', 'tier="original",result="miss"'),
    source_fetches: d('image_origin_source_fetches_total'),
    coalesced: d('image_origin_coalesced_total'),
    degraded: d('image_origin_degraded_total'),
    shed: d('image_origin_shed_total'),
  };
}

/**
 * One measured load against `origin`, with what every HTTP scenario shares (client timeout,
 * degraded marker, CPU watch, cancellation), and the origin's counters over the window.
 */
export async function loadOrigin<R extends ImageRequest = ImageRequest>(
  ctx: ScenarioContext,
  origin: RunningOriginProcess,
  options: Pick<LoadOptions<R>, 'schedule' | 'durationSeconds' | 'next' | 'onOutcome' | 'maxInFlight' | 'exchange'>,
): Promise<{ load: LoadResult<R>; counters: OriginCounters }> {
  const before = await origin.metrics();
  const load = await runLoad<R>({
    ...options,
    base: origin.base,
    timeoutMs: CLIENT_TIMEOUT_MS,
    degradedCacheControl: ctx.degradedCacheControl,
    watch: { loadgen: 'self', origin: origin.pid, storage: ctx.storage.pid },
    signal: ctx.signal,
  });
  return { load, counters: originCounters(before, await origin.metrics()) };
}

/** The figures every measured-load scenario reports the same way: rate, served latency, size, RSS, CPU. */
export function loadFigures(
  name: ScenarioName,
  roundNo: number,
  rps: number,
  served: readonly Outcome[],
  load: LoadResult,
  run: { readonly peakRssMb: number | null },
) {
  return {
    name,
    round: roundNo,
    rps: round(rps, 2),
    ...summarizeLatency(served.map((o) => o.latency)),
    requests: load.outcomes.length,
    seconds: load.windowSeconds,
    peak_rss_mb: run.peakRssMb,
    ...cpuFigures(load.cpu),
  };
}

export interface MemorySample {
  /** Seconds since sampling started. */
  readonly t: number;
  /** Resident set (VmRSS), MB. */
  readonly rss_mb: number;
  /** The part of it mapped from files (RssFile: the Node binary, libvips and codecs as their code is first run), MB. */
  readonly file_mb: number | null;
  /** V8 heap in use, the heap V8 holds (used or not), and memory outside it held by JavaScript objects (Buffers), MB, from /metrics. */
  readonly heap_used_mb: number | null;
  readonly heap_total_mb: number | null;
  readonly external_mb: number | null;
}

/**
 * Samples the origin's memory every `intervalMs` until stopped: RSS from /proc, the V8 heap and
 * external memory from its /metrics (prom-client's defaults), to tell a leak in JavaScript from
 * memory the allocator holds.
 */
export function sampleMemory(origin: RunningOriginProcess, intervalMs: number): { stop(): Promise<MemorySample[]> } {
  const samples: MemorySample[] = [];
  const started = performance.now();
  let pending: Promise<void> = Promise.resolve();
  const take = async () => {
    const t = (performance.now() - started) / 1000;
    const memory = processMemory(origin.pid);
    const metrics = await origin.metrics();
    const mb = (name: string) => (metrics.has(name) ? round((metrics.get(name) ?? 0) / 1e6, 1) : null);
    const rssMb = memory === undefined ? mb('process_resident_memory_bytes') : round(memory.rss / 1e6, 1);
    if (rssMb === null) return;
    samples.push({
      t: round(t, 2),
      rss_mb: rssMb,
      file_mb: memory === undefined ? null : round(memory.file / 1e6, 1),
      heap_used_mb: mb('nodejs_heap_size_used_bytes'),
      heap_total_mb: mb('nodejs_heap_size_total_bytes'),
      external_mb: mb('nodejs_external_memory_bytes'),
    });
  };
  // One sample at a time: a slow /metrics answer delays the next sample rather than piling up.
  const timer = setInterval(() => void (pending = pending.then(take)), intervalMs);
  void (pending = pending.then(take));
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      await take();
      return samples;
    },
  };
}
