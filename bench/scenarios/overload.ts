/**
 * overload: new variants offered at four times the cold capacity, open loop, for the whole run.
 * A well-behaved origin keeps its goodput (correct images per second) near its capacity by
 * degrading and shedding the excess quickly, keeps the latency of what it serves bounded, and
 * never resets a connection or lets a request time out.
 */
import { startBareServer } from '../bare-reference.js';
import { probeLatencyFloor } from '../latency-floor.js';
import { round, share, summarizeLatency } from '../stats.js';
import { coldSequence } from '../workload.js';
import { countErrors, countStatuses, loadFigures, errorSamples, inWindow, loadOrigin, originRunFigures, warmOriginals, withOrigin } from './common.js';
import type { RunFigures, ScenarioContext } from './types.js';

/** Offered load as a multiple of the cold capacity. */
export const OVERLOAD_FACTOR = 4;

export async function runOverload(ctx: ScenarioContext, roundNo: number): Promise<RunFigures> {
  const offered = Math.max(2, ctx.calibration().coldRps * OVERLOAD_FACTOR);
  // A bare server beside the origin: what any answer takes on these cores at the same moments.
  const bare = await startBareServer([{ path: '/floor', accept: '', body: Buffer.from('ok'), headers: { 'content-type': 'text/plain' } }], ctx.children);
  const run = await withOrigin(ctx, { name: 'overload', round: roundNo }, async (origin) => {
    await warmOriginals(origin, ctx.layout.baseKeys);
    const probes = probeLatencyFloor([
      { name: 'bare', base: bare.base, path: '/floor' },
      { name: 'healthz', base: origin.base, path: '/healthz' },
    ]);
    const result = await loadOrigin(ctx, origin, {
      schedule: { kind: 'open', rate: () => offered, seed: 21 + roundNo },
      durationSeconds: ctx.options.durations.overload,
      next: coldSequence(ctx.layout.baseKeys, 5),
      maxInFlight: 2048,
    });
    return { ...result, floor: await probes.stop() };
  }).finally(() => bare.close());

  const { load, counters, floor } = run.value;
  const all = load.outcomes;
  const served = all.filter((o) => o.correct);
  const shed = all.filter((o) => o.status === 503);
  const errors = countErrors(all);
  const wrong = all.length - served.length - shed.length - (errors.reset + errors.timeout + errors.other);
  const goodput = served.filter(inWindow(load)).length / load.windowSeconds;
  // Degraded images cost a fraction of a full-quality AVIF: goodput alone flatters the comparison.
  const fullQuality = served.filter((o) => !o.degraded && inWindow(load)(o)).length / load.windowSeconds;
  const shedLatency = summarizeLatency(shed.map((o) => o.latency));
  // Which requests the degrade policy kept at full quality: by source image and preset.
  const byClass: Record<string, { sent: number; full: number; degraded: number; shed: number }> = {};
  for (const o of all) {
    const name = `${ctx.layout.imageOf.get(o.request.key)?.kind ?? o.request.key} ${o.request.preset ?? '-'} ${o.request.client}`;
    const row = (byClass[name] ??= { sent: 0, full: 0, degraded: 0, shed: 0 });
    row.sent++;
    if (o.status === 503) row.shed++;
    else if (o.correct) row[o.degraded ? 'degraded' : 'full']++;
  }
  return {
    ...loadFigures('overload', roundNo, goodput, served, load, run),
    note:
      `offered ${offered.toFixed(1)}/s; shed ${(share(shed.length, all.length) * 100).toFixed(1)}% (p50 ${shedLatency.p50_ms.toFixed(0)} ms, p99 ${shedLatency.p99_ms.toFixed(0)}; ` +
      `a bare server at the same moments p99 ${floor['bare']?.p99_ms.toFixed(0)} ms, /healthz ${floor['healthz']?.p99_ms.toFixed(0)}), ` +
      `degraded ${(share(served.filter((o) => o.degraded).length, served.length) * 100).toFixed(1)}% (full quality ${fullQuality.toFixed(1)}/s), ` +
      `resets ${errors.reset}, timeouts ${errors.timeout}, other errors ${errors.other + wrong}`,
    extra: {
      offered_rps: round(offered, 2),
      goodput_rps: round(goodput, 2),
      full_quality_goodput_rps: round(fullQuality, 2),
      shed_share: round(share(shed.length, all.length), 4),
      shed_p50_ms: shedLatency.p50_ms,
      shed_p99_ms: shedLatency.p99_ms,
      // Probed once every 20 ms during the window, one at a time, from send to the last byte.
      bare_server_p50_ms: floor['bare']?.p50_ms ?? null,
      bare_server_p99_ms: floor['bare']?.p99_ms ?? null,
      healthz_p99_ms: floor['healthz']?.p99_ms ?? null,
      degraded_share: round(share(served.filter((o) => o.degraded).length, served.length), 4),
      by_class: byClass,
      resets: errors.reset,
      timeouts: errors.timeout,
      other_errors: errors.other,
      wrong_answers: wrong,
      error_samples: errorSamples(all),
      statuses: countStatuses(all),
      ...originRunFigures(load, counters, run),
    },
  };
}
