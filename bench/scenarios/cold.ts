/**
 * cold: every request a variant nobody made (a CDN miss for something new), with the originals
 * already in the origin's originals tier. Closed loop at the transform concurrency, the same
 * requests in the same order as `limit`: the difference is what HTTP, routing, validation, the
 * caches and the queue cost around the transform.
 */
import { round } from '../stats.js';
import { coldSequence } from '../workload.js';
import { countErrors, countStatuses, loadFigures, errorSamples, inWindow, loadOrigin, profileFigures, warmOriginals, withOrigin } from './common.js';
import type { RunFigures, ScenarioContext } from './types.js';

export async function runCold(ctx: ScenarioContext, roundNo: number): Promise<RunFigures> {
  const run = await withOrigin(ctx, { name: 'cold', round: roundNo }, async (origin) => {
    await warmOriginals(origin, ctx.layout.baseKeys);
    return loadOrigin(ctx, origin, {
      schedule: { kind: 'closed', concurrency: ctx.origin.transformConcurrency },
      durationSeconds: ctx.options.durations.cold,
      next: coldSequence(ctx.layout.baseKeys),
    });
  });
  const { load, counters } = run.value;
  const served = load.outcomes.filter((o) => o.correct);
  const servedInWindow = served.filter(inWindow(load));
  const rps = servedInWindow.length / load.windowSeconds;
  const originalLookups = counters.original_hits + counters.original_misses;
  const incorrect = load.outcomes.length - served.length;
  return {
    ...loadFigures('cold', roundNo, rps, served, load, run),
    note: `closed loop x${ctx.origin.transformConcurrency}${incorrect > 0 ? `, ${incorrect} not a correct image` : ''}${run.profile ? ', CPU-profiled' : ''}`,
    extra: {
      statuses: countStatuses(load.outcomes),
      errors: countErrors(load.outcomes),
      error_samples: errorSamples(load.outcomes),
      incorrect,
      degraded: load.outcomes.filter((o) => o.degraded).length,
      originals_hit_share: originalLookups > 0 ? round(counters.original_hits / originalLookups, 3) : null,
      origin_counters: counters,
      origin_exit_code: run.exit.exitCode,
      origin_log_lines: run.logLines,
      origin_log_sample: run.logSample,
      profile: profileFigures(run.profile),
    },
  };
}
