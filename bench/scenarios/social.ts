/**
 * social: what a feed's CDN sends its origin. Zipf popularity over many images, the shipped
 * presets, the three client kinds, some revalidations; open loop at half the cold capacity, with
 * five times that rate in the middle third (a post going viral, a push notification). Counts how
 * much is served, how much degraded (cheaper variant, short Cache-Control), how much shed (503),
 * and the latency of served requests during the burst.
 */
import { round, share, summarizeLatency } from '../stats.js';
import { socialSequence } from '../workload.js';
import { countErrors, countStatuses, loadFigures, errorSamples, inWindow, loadOrigin, originRunFigures, warmOriginals, withOrigin } from './common.js';
import type { RunFigures, ScenarioContext } from './types.js';

/** Base rate as a share of the cold capacity, and the burst's multiple of it. */
const BASE_SHARE_OF_COLD = 0.5;
const BURST_FACTOR = 5;

export async function runSocial(ctx: ScenarioContext, roundNo: number): Promise<RunFigures> {
  const duration = ctx.options.durations.social;
  // At least a dozen requests due in the burst, so even a tiny run on a busy machine measures one.
  const baseRate = Math.max(1, 12 / (BURST_FACTOR * (duration / 3)), ctx.calibration().coldRps * BASE_SHARE_OF_COLD);
  const burstFrom = duration / 3;
  const burstTo = (2 * duration) / 3;
  const inBurst = (seconds: number) => seconds >= burstFrom && seconds < burstTo;
  const run = await withOrigin(ctx, { name: 'social', round: roundNo }, async (origin) => {
    // Codecs warm, but the social originals start in storage, as after a deploy.
    await warmOriginals(origin, ctx.layout.baseKeys.slice(0, 1));
    const traffic = socialSequence(ctx.layout.socialKeys);
    return loadOrigin(ctx, origin, {
      schedule: { kind: 'open', rate: (t) => (inBurst(t) ? baseRate * BURST_FACTOR : baseRate), seed: 11 + roundNo },
      durationSeconds: duration,
      next: () => traffic.next(),
      onOutcome: (o) => o.status === 200 && traffic.remember(o.request, o.etag),
      maxInFlight: 1024,
    });
  });

  const { load, counters } = run.value;
  const all = load.outcomes;
  const served = all.filter((o) => o.correct || o.status === 304);
  const shed = all.filter((o) => o.status === 503).length;
  const ok = all.filter((o) => o.status === 200).length;
  const degraded = all.filter((o) => o.degraded).length;
  const burstServed = served.filter((o) => inBurst(o.due / 1000));
  const errors = countErrors(all);
  // Anything that is neither a correct image, a 304 nor a 503 is wrong: a 4xx, a 5xx, a bad body.
  const wrong = all.length - served.length - shed - (errors.reset + errors.timeout + errors.other);
  const burst = summarizeLatency(burstServed.map((o) => o.latency));
  const servedRps = served.filter(inWindow(load)).length / load.windowSeconds;
  return {
    ...loadFigures('social', roundNo, servedRps, served, load, run),
    note:
      `offered ${baseRate.toFixed(1)}/s, burst ${(baseRate * BURST_FACTOR).toFixed(1)}/s; burst p99 ${burst.p99_ms.toFixed(0)} ms; ` +
      `degraded ${pct(degraded, ok)}, shed ${pct(shed, all.length)}, errors ${errors.reset + errors.timeout + errors.other + wrong}`,
    extra: {
      offered_base_rps: round(baseRate, 2),
      offered_burst_rps: round(baseRate * BURST_FACTOR, 2),
      keys: ctx.layout.socialKeys.length,
      p99_burst_ms: burst.p99_ms,
      p50_burst_ms: burst.p50_ms,
      shed_share: round(share(shed, all.length), 4),
      degraded_share: round(share(degraded, ok), 4),
      share_304: round(share(all.filter((o) => o.status === 304).length, all.length), 4),
      statuses: countStatuses(all),
      errors,
      error_samples: errorSamples(all),
      wrong_answers: wrong,
      ...originRunFigures(load, counters, run),
    },
  };
}

const pct = (part: number, whole: number) => `${(share(part, whole) * 100).toFixed(1)}%`;
