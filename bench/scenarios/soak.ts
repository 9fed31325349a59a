/**
 * soak: a long run of mixed traffic against one origin, behind a storage that fails 5 % of the
 * time. Good requests (new variants and repeats, every preset and client kind), bad parameters
 * and keys, undecodable files (a truncated JPEG, random bytes and an HTML page named .jpg, a
 * pixel bomb), and clients that hang up (abort after a few milliseconds; close the socket while
 * the body streams), open loop at a fixed moderate rate. It reports whether memory stays flat
 * after the warm-up (RSS sampled every few seconds), every answer by class and error code, and
 * the 5xx answers to bad input, which must be none: a 5xx there would mean bad input reached a
 * code path that fails, the kind of bug that pages someone at 3 am.
 */
import type { Pool } from 'undici';
import { FAULT_KINDS, type FaultLog, type FaultRecord, type FaultSettings } from '../fault-proxy.js';
import { exchange, hangUpMidBody, type Answer, type Outcome } from '../http-load.js';
import { metricSum, probe, type RunningOriginProcess } from '../origin-process.js';
import { round, share, trendAfter } from '../stats.js';
import { sleep } from '../children.js';
import {
  BAD_INPUT_KINDS,
  presetQuery,
  SOAK_MIX,
  requestHeaders,
  requestPath,
  soakSequence,
  type SoakKind,
  type SoakRequest,
} from '../workload.js';
import {
  CLIENT_TIMEOUT_MS,
  countErrors,
  errorSamples,
  inWindow,
  loadFigures,
  loadOrigin,
  originRunFigures,
  sampleMemory,
  warmOriginals,
  withOrigin,
} from './common.js';
import type { Json, RunFigures, ScenarioContext } from './types.js';

/**
 * Arrivals per second, all kinds together: 3.5 of them new variants (good ones, and the hang-ups
 * that catch the origin mid-transform), about a fifth of the cold capacity on 2 cores and under
 * a core of transforms for the soak's mix of originals; the rest costs little.
 */
export const SOAK_RATE = 20;

/** The failing storage: 5 % of requests, the four kinds in equal shares, the same ones every run. */
export const SOAK_STORAGE_FAULTS: FaultSettings = { rate: 0.05, seed: 41, stallMs: 1_500 };

const MiB = 1024 * 1024;
/**
 * Both cache tiers at 16 MiB instead of 128 MiB, so they are full and evicting within the warm-up:
 * with the defaults, the first minutes of a soak measure the tiers filling, not a leak.
 */
export const SOAK_ORIGIN_ENV: Readonly<Record<string, string>> = {
  ORIGIN_ORIGINALS_CACHE_BYTES: String(16 * MiB),
  ORIGIN_VARIANTS_CACHE_BYTES: String(16 * MiB),
};

/** The first fifth of the run is warm-up; RSS must then grow by at most 10 % (the last 8 of 10 minutes). */
export const SOAK_WARMUP_SHARE = 0.2;
export const SOAK_RSS_GROWTH_LIMIT_PCT = 10;
/** Shorter soaks report the RSS trend without a verdict (report.ts). */
export const SOAK_JUDGED_FROM_S = 300;

/** A storage fault explains a 502/504 when it hit the same key within this much of the request. */
const FAULT_SLACK_MS = 1_000;
/**
 * A throttling store's fault (the proxy's `slowdown-503`) answers its key for as long as the
 * origin's back-off lasts (origin/load/negative-cache.ts): up to ORIGIN_SOURCE_BACKOFF_MAX_MS's
 * default 10 s plus its 20 % jitter. Such a fault explains a 502 that long after it.
 */
const REMEMBERED_FAULT_MS = 12_000;
const INJECTED: ReadonlySet<string> = new Set(FAULT_KINDS);
/** Error codes the origin gives when storage failed. */
const STORAGE_CODES = new Set(['SOURCE_UNAVAILABLE', 'SOURCE_TIMEOUT']);

export async function runSoak(ctx: ScenarioContext, roundNo: number): Promise<RunFigures> {
  const duration = ctx.options.durations.soak;
  // Every 2 s in the full run (300 samples), every 0.25 s in the short ones: RSS swings by 100 MB
  // and more with the transforms in flight, so the trend needs many samples.
  const intervalMs = Math.min(2_000, Math.max(250, (duration * 1000) / 300));
  const soakCtx: ScenarioContext = {
    ...ctx,
    storage: { ...ctx.storage, env: ctx.storage.faultyEnv },
    origin: { ...ctx.origin, env: { ...ctx.origin.env, ...SOAK_ORIGIN_ENV } },
  };
  const traffic = soakSequence(
    { newKeys: ctx.layout.socialKeys, repeatKeys: ctx.layout.baseKeys, badFiles: ctx.layout.badFiles },
    31 + roundNo,
  );
  const run = await withOrigin(soakCtx, { name: 'soak', round: roundNo }, async (origin) => {
    // Small variants warm every codec; the largest (`full`) ones let the allocator reach the
    // memory of the biggest transforms before the clock starts, not during the measured window.
    await warmOriginals(origin, ctx.layout.baseKeys, { attempts: 5 });
    await warmOriginals(origin, ctx.layout.baseKeys, { attempts: 5, query: presetQuery('full') });
    const memory = sampleMemory(origin, intervalMs);
    const loaded = await loadOrigin<SoakRequest>(soakCtx, origin, {
      schedule: { kind: 'open', rate: () => SOAK_RATE, seed: 51 + roundNo },
      durationSeconds: duration,
      next: () => traffic.next(),
      onOutcome: (o) => o.status === 200 && traffic.remember(o.request, o.etag),
      maxInFlight: 1024,
      exchange: soakExchange(origin.base, ctx.degradedCacheControl),
    }).catch(async (error: unknown) => {
      await memory.stop();
      throw error;
    });
    const samples = await memory.stop();
    return { ...loaded, samples, settled: await settle(origin), faults: await ctx.storage.faultLog() };
  });

  const { load, counters, settled, faults, samples: memorySamples } = run.value;
  const all = load.outcomes;
  const faultsOnKey = faultsByKey(faults);
  const storageCaused = faultExplains(faultsOnKey, load.startedAtEpochMs);
  const lastFault = lastFaultBefore(faultsOnKey, load.startedAtEpochMs);
  const good = all.filter((o) => o.request.kind === 'good-new' || o.request.kind === 'good-repeat');
  const served = good.filter((o) => o.correct || o.status === 304);
  const badInput = all.filter((o) => BAD_INPUT_KINDS.has(o.request.kind));
  // Bad files and missing keys are known bad only once storage answered: shed before that is load.
  const shedUnread = (o: Outcome<SoakRequest>) => o.request.badOnceRead === true && o.status === 503 && o.errorCode === 'OVERLOADED';
  const badInput5xx = badInput.filter((o) => o.status >= 500 && !storageCaused(o) && !shedUnread(o));
  const storage5xx = all.filter((o) => o.status >= 500 && storageCaused(o));
  const other5xx = all.filter((o) => o.status >= 500 && !storageCaused(o) && !badInput5xx.includes(o));
  // A good request is answered with an image, a 304, a 503 (shed) or a storage 5xx; anything else is wrong.
  const goodWrong = good.filter((o) => !o.correct && o.status !== 304 && o.status < 500);
  const classes = answerClasses(all);
  const shed = count(all, (o) => o.status === 503 && o.errorCode === 'OVERLOADED');
  const hangups = all.filter((o) => o.hungUp === true).length;
  const errors = countErrors(all);

  // The window after the warm-up, up to the end of the arrivals (not the drain after it).
  const measured = memorySamples.filter((s) => s.t <= duration);
  const rss = trendAfter(
    measured.map((s) => ({ t: s.t, v: s.rss_mb })),
    duration * SOAK_WARMUP_SHARE,
  );
  const heap = trendAfter(
    measured.flatMap((s) => (s.heap_used_mb === null ? [] : [{ t: s.t, v: s.heap_used_mb }])),
    duration * SOAK_WARMUP_SHARE,
  );
  const growthPct = rss === null ? null : round(rss.fitGrowth * 100, 2);
  const servedRps = served.filter(inWindow(load)).length / load.windowSeconds;
  const injected = countBy(faults.faults, (f) => f.kind);

  return {
    ...loadFigures('soak', roundNo, servedRps, served, load, run),
    note:
      `offered ${SOAK_RATE}/s; RSS trend ${rss ? `${rss.fitStart.toFixed(0)}→${rss.fitEnd.toFixed(0)} MB (${fmtPct(growthPct)})` : 'n/a'} after ${(duration * SOAK_WARMUP_SHARE).toFixed(0)} s; ` +
      `2xx ${classes['2xx']}, 304 ${classes['304']}, 4xx ${sum(classes['4xx'])}, 5xx ${sum(classes['5xx'])} ` +
      `(storage ${storage5xx.length}, bad input ${badInput5xx.length}, other ${other5xx.length}: shed ${shed}), ` +
      `hang-ups ${hangups}, conn errors ${errors.reset + errors.timeout + errors.other}; ` +
      `storage faults ${count(faults.faults, (f) => INJECTED.has(f.kind))}/${faults.requests}`,
    extra: {
      offered_rps: SOAK_RATE,
      mix: { ...SOAK_MIX },
      requests_by_kind: countBy(all, (o) => o.request.kind),
      answers: classes,
      answers_by_kind: Object.fromEntries(
        (Object.keys(SOAK_MIX) as SoakKind[]).map((kind) => [kind, countBy(all.filter((o) => o.request.kind === kind), answerKey)]),
      ),
      bad_input_answers: Object.fromEntries(
        [...new Set(badInput.map((o) => `${o.request.kind} ${o.request.label}`))]
          .sort()
          .map((label) => [label, countBy(badInput.filter((o) => `${o.request.kind} ${o.request.label}` === label), answerKey)]),
      ),
      bad_input_5xx: badInput5xx.length,
      bad_input_5xx_samples: badInput5xx.slice(0, 5).map((o) => `${o.request.label} → ${answerKey(o)} (${lastFault(o)})`),
      storage_5xx: storage5xx.length,
      storage_5xx_by_code: countBy(storage5xx, answerKey),
      other_5xx: other5xx.length,
      other_5xx_by_code: countBy(other5xx, answerKey),
      shed,
      shed_before_read: badInput.filter(shedUnread).length,
      good_served_share: round(share(served.length, good.length), 4),
      good_wrong: goodWrong.length,
      good_wrong_samples: [...new Set(goodWrong.map((o) => `${o.request.label} → ${answerKey(o)}`))].slice(0, 5),
      degraded_share: round(share(good.filter((o) => o.degraded).length, good.length), 4),
      // What new variants add to the variant tier per minute (at most: evictions not counted).
      new_variant_mb_per_min: round((sumBytes(good.filter((o) => o.request.kind === 'good-new' && o.correct)) / 1e6 / load.windowSeconds) * 60, 2),
      client_hangups: hangups,
      hangups: {
        abort_hung_up: count(all, (o) => o.request.kind === 'hangup-abort' && o.hungUp === true),
        abort_answered_first: count(all, (o) => o.request.kind === 'hangup-abort' && o.hungUp !== true),
        close_mid_body: count(all, (o) => o.request.kind === 'hangup-close' && o.hungUp === true),
        close_answer_whole: count(all, (o) => o.request.kind === 'hangup-close' && o.hungUp !== true),
      },
      connection_errors: errors.reset + errors.timeout + errors.other,
      errors,
      error_samples: errorSamples(all),
      storage_requests: faults.requests,
      storage_faults: injected,
      storage_fault_share: round(share(faults.faults.filter((f) => INJECTED.has(f.kind)).length, faults.requests), 4),
      rss_growth_pct: growthPct,
      rss_fit_start_mb: rss === null ? null : round(rss.fitStart, 1),
      rss_fit_end_mb: rss === null ? null : round(rss.fitEnd, 1),
      rss_median_growth_pct: rss === null ? null : round(rss.growth * 100, 2),
      rss_start_mb: rss === null ? null : round(rss.start, 1),
      rss_end_mb: rss === null ? null : round(rss.end, 1),
      rss_max_after_warmup_mb: rss === null ? null : round(rss.max, 1),
      rss_slope_mb_per_min: rss === null ? null : round(rss.slopePerMinute, 2),
      heap_growth_pct: heap === null ? null : round(heap.fitGrowth * 100, 2),
      heap_slope_mb_per_min: heap === null ? null : round(heap.slopePerMinute, 2),
      warmup_s: round(duration * SOAK_WARMUP_SHARE, 1),
      memory_interval_s: intervalMs / 1000,
      memory_sample_columns: ['t', 'rss_mb', 'file_mb', 'heap_used_mb', 'heap_total_mb', 'external_mb'],
      memory_samples: memorySamples.map((s) => [s.t, s.rss_mb, s.file_mb, s.heap_used_mb, s.heap_total_mb, s.external_mb]),
      ...settled,
      ...originRunFigures(load, counters, run),
    },
  };
}

/** How each soak request is sent: a plain GET, a GET aborted after a few ms, or a socket closed mid-body. */
function soakExchange(base: string, degradedCacheControl: string) {
  return (pool: Pool, request: SoakRequest): Promise<Answer> => {
    const path = request.path ?? requestPath(request);
    if (request.kind === 'hangup-close') return hangUpMidBody(base, path, requestHeaders(request), CLIENT_TIMEOUT_MS);
    if (request.abortAfterMs === undefined) return exchange(pool, request, degradedCacheControl, { path });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), request.abortAfterMs);
    return exchange(pool, request, degradedCacheControl, { path, signal: controller.signal }).finally(() => clearTimeout(timer));
  };
}

/**
 * After the last answer: the origin should hold no transform and no queued work (a hung-up client
 * must not leave work behind), and still be ready. Polled for up to 10 s.
 */
async function settle(origin: RunningOriginProcess): Promise<{ readonly [key: string]: Json }> {
  const started = performance.now();
  let busy = { inflight: NaN, queued: NaN };
  while (performance.now() - started < 10_000) {
    const metrics = await origin.metrics();
    busy = { inflight: metricSum(metrics, 'image_origin_inflight_transforms'), queued: metricSum(metrics, 'image_origin_queue_depth') };
    if (busy.inflight === 0 && busy.queued === 0) break;
    await sleep(100);
  }
  const idle = busy.inflight === 0 && busy.queued === 0;
  return {
    idle_after_ms: idle ? Math.round(performance.now() - started) : null,
    inflight_transforms_at_end: busy.inflight,
    queue_depth_at_end: busy.queued,
    ready_at_end: (await probe(`${origin.base}/readyz`))?.status === 200,
  };
}

/**
 * True when the request's 5xx says storage failed and the failing proxy logged trouble on its key
 * while it ran: a fault it injected, s3rver failing, or the origin giving up on an answer.
 */
function faultExplains(byKey: FaultsByKey, startedAtEpochMs: number): (o: Outcome<SoakRequest>) => boolean {
  return (o) => {
    if (o.errorCode === undefined || !STORAGE_CODES.has(o.errorCode)) return false;
    const due = startedAtEpochMs + o.due;
    const to = startedAtEpochMs + o.end + FAULT_SLACK_MS;
    return (byKey.get(o.request.key) ?? []).some((f) => f.at <= to && f.at >= due - (f.kind === 'slowdown-503' ? REMEMBERED_FAULT_MS : FAULT_SLACK_MS));
  };
}

type FaultsByKey = ReadonlyMap<string, readonly FaultRecord[]>;

function faultsByKey(log: FaultLog): FaultsByKey {
  const byKey = new Map<string, FaultRecord[]>();
  for (const f of log.faults) byKey.set(f.key, [...(byKey.get(f.key) ?? []), f]);
  return byKey;
}

/** The last fault on the request's key before its answer, and how long before it was due: for a 5xx left unexplained. */
function lastFaultBefore(byKey: FaultsByKey, startedAtEpochMs: number): (o: Outcome<SoakRequest>) => string {
  return (o) => {
    const end = startedAtEpochMs + o.end;
    const last = (byKey.get(o.request.key) ?? []).filter((f) => f.at <= end).at(-1);
    return last === undefined ? 'no fault on this key before it' : `last fault on this key: ${last.kind}, ${((startedAtEpochMs + o.due - last.at) / 1000).toFixed(1)} s before it was due`;
  };
}

/** `2xx`, `304`, 4xx and 5xx by status and code, client hang-ups, connection errors. */
function answerClasses(outcomes: readonly Outcome<SoakRequest>[]) {
  const classes = {
    '2xx': 0,
    '304': 0,
    '4xx': {} as Record<string, number>,
    '5xx': {} as Record<string, number>,
    client_hangups: 0,
    connection_errors: { reset: 0, timeout: 0, other: 0 },
    other: 0,
  };
  for (const o of outcomes) {
    if (o.hungUp === true) classes.client_hangups++;
    else if (o.error) classes.connection_errors[o.error]++;
    else if (o.status >= 200 && o.status < 300) classes['2xx']++;
    else if (o.status === 304) classes['304']++;
    else if (o.status >= 400 && o.status < 500) bump(classes['4xx'], answerKey(o));
    else if (o.status >= 500) bump(classes['5xx'], answerKey(o));
    else classes.other++;
  }
  return classes;
}

/** `400 INVALID_PARAMS`, `200`, `hang-up`, `error:reset`: one request's answer in a word or two. */
function answerKey(o: Outcome): string {
  if (o.hungUp === true) return 'hang-up';
  if (o.error) return `error:${o.error}`;
  return o.errorCode === undefined ? String(o.status) : `${o.status} ${o.errorCode}`;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) bump(counts, keyOf(item));
  return counts;
}

const sumBytes = (outcomes: readonly Outcome[]) => outcomes.reduce((s, o) => s + o.bytes, 0);
const count = <T>(items: readonly T[], test: (item: T) => boolean) => items.filter(test).length;
const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((s, n) => s + n, 0);
const fmtPct = (v: number | null) => (v === null ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`);
