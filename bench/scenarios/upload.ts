/**
 * upload: an upload burst. Live traffic (new variants of the base images, open loop at a third of
 * the cold capacity) runs twice against an origin with a result store, the admin port and
 * `ORIGIN_PRERENDER=thumb`: once alone (uncontended), once while the social keys are announced as
 * newly created by one S3 event. Reports the time until every announced key's pre-render set is
 * in the store, and the live traffic's p99 against the uncontended run (target ≤ 1.5×: pre-render
 * uses only spare transform slots).
 */
import path from 'node:path';
import { freePort, sleep } from '../children.js';
import { metricSum, startOriginProcess } from '../origin-process.js';
import { round, summarizeLatency } from '../stats.js';
import { childPids, processMemory } from '../system.js';
import { coldSequence } from '../workload.js';
import { loadOrigin, warmOriginals } from './common.js';
import { NO_CPU_FIGURES, type RunFigures, type ScenarioContext } from './types.js';

const TOKEN = 'bench-admin-token-0123456789abcdef';
const LIVE_SHARE_OF_COLD = 1 / 3;
/** `thumb` lets clients set dpr: 3 format tokens × the 4 default DPR steps. */
const VARIANTS_PER_KEY = 12;
const UPLOADS = { full: 20, quick: 8, tiny: 2 } as const;

/** An S3 `ObjectCreated:Put` message announcing `keys` in `bucket`. */
function createdEvent(bucket: string, keys: readonly string[]): string {
  const formKey = (key: string) => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
  const Records = keys.map((key) => ({ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key: formKey(key) } } }));
  return JSON.stringify({ Records });
}

export async function runUpload(ctx: ScenarioContext, roundNo: number): Promise<RunFigures> {
  const adminPort = await freePort();
  const env = {
    ...ctx.origin.env,
    ORIGIN_RESULT_STORE: `fs:${path.join(ctx.tmpDir, `upload-results-${roundNo}`)}`,
    ORIGIN_ADMIN_PORT: String(adminPort),
    ORIGIN_ADMIN_TOKEN: TOKEN,
    ORIGIN_PRERENDER: 'thumb',
  };
  const origin = await startOriginProcess({ ...ctx.origin, env }, ctx.storage.env, ctx.children, { role: `origin (upload #${roundNo})` });
  const duration = ctx.options.durations.cold;
  // At least half a dozen live requests per run, so even a tiny run on a busy machine measures a p99.
  const rate = Math.max(1, 6 / duration, ctx.calibration().coldRps * LIVE_SHARE_OF_COLD);
  const bucket = /^s3:\/\/([^/]+)/.exec(ctx.storage.env['ORIGIN_SOURCE'] ?? '')?.[1] ?? '';
  // A burst of uploads, not the whole catalogue: every one is 12 transforms at low priority.
  const keys = ctx.layout.socialKeys.slice(0, UPLOADS[ctx.options.mode]);
  try {
    // Both runs send the same requests at the same moments (one seed, two lanes of widths), so
    // their p99s compare like with like rather than whichever heavy variant each happened to draw.
    const live = (lane: number) => coldSequence(ctx.layout.baseKeys, 40 + roundNo, lane, 2);
    const schedule = { kind: 'open' as const, rate: () => rate, seed: 5 + roundNo };
    // Originals fetched and every codec run once, so neither run pays for a cold start.
    await warmOriginals(origin, ctx.layout.baseKeys);
    const alone = await loadOrigin(ctx, origin, { schedule, durationSeconds: duration, next: live(0), maxInFlight: 256 });

    const announced = performance.now();
    const answer = await fetch(`http://127.0.0.1:${adminPort}/events`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: createdEvent(bucket, keys) });
    if (answer.status !== 202) throw new Error(`upload: the event was answered ${answer.status}: ${await answer.text()}`);
    let allStoredMs: number | null = null;
    const expected = keys.length * VARIANTS_PER_KEY;
    // Pre-renders run in a child of the origin (its low-priority render process): its memory counts
    // too, but not the pages it maps from the files the origin maps as well (the Node binary,
    // libvips: about 50 MB), which the pod holds once. The reported peak is the origin's
    // high-water mark plus the child's less its largest file-backed share (an upper bound: the two
    // peaks may not coincide); adding the two at each poll shows what the pod held at once.
    let childPeak = 0;
    let childShared = 0;
    let together = 0;
    const watch = (async () => {
      while (allStoredMs === null && !ctx.signal.aborted) {
        let now = processMemory(origin.pid)?.rss ?? 0;
        for (const pid of childPids(origin.pid)) {
          const memory = processMemory(pid);
          if (!memory) continue;
          childPeak = Math.max(childPeak, memory.peak);
          childShared = Math.max(childShared, memory.file);
          now += memory.rss - memory.file;
        }
        together = Math.max(together, now);
        const samples = await origin.metrics();
        const settled = ['done', 'skipped', 'failed'].reduce((n, r) => n + metricSum(samples, 'image_origin_prerender_total', `result="${r}"`), 0);
        if (settled >= expected) allStoredMs = performance.now() - announced;
        else await sleep(50);
      }
    })();
    const contended = await loadOrigin(ctx, origin, { schedule, durationSeconds: duration, next: live(1), maxInFlight: 256 });
    await watch;
    const samples = await origin.metrics();
    const failed = metricSum(samples, 'image_origin_prerender_total', 'result="failed"');
    const latency = (load: typeof alone) => summarizeLatency(load.load.outcomes.filter((o) => o.status === 200).map((o) => o.latency));
    const [uncontended, burst] = [latency(alone), latency(contended)];
    const ratio = uncontended.p99_ms > 0 ? round(burst.p99_ms / uncontended.p99_ms, 2) : null;
    const errors = contended.load.outcomes.filter((o) => o.status !== 200).length;
    const childPrivatePeak = childPeak - childShared;
    return {
      name: 'upload',
      round: roundNo,
      rps: round(rate, 2),
      p50_ms: burst.p50_ms,
      p95_ms: burst.p95_ms,
      p99_ms: burst.p99_ms,
      requests: contended.load.outcomes.length,
      seconds: round(contended.load.windowSeconds, 1),
      peak_rss_mb: round(((await origin.peakRss()) ?? 0) / 1e6 + childPrivatePeak / 1e6, 0),
      ...NO_CPU_FIGURES,
      note:
        `${keys.length} uploads × ${VARIANTS_PER_KEY} variants stored in ${allStoredMs === null ? '?' : (allStoredMs / 1000).toFixed(1)} s ` +
        `while live traffic ran at ${rate.toFixed(1)}/s; live p99 ${burst.p99_ms.toFixed(0)} ms vs ${uncontended.p99_ms.toFixed(0)} ms alone (${ratio ?? '?'}x); ` +
        `pre-render process peak ${(childPeak / 1e6).toFixed(0)} MB, ${(childPrivatePeak / 1e6).toFixed(0)} MB of it its own; ` +
        `origin and pre-render process together at most ${(together / 1e6).toFixed(0)} MB when polled`,
      extra: {
        uploads: keys.length,
        prerendered_variants: expected,
        prerender_failed: failed,
        all_stored_s: allStoredMs === null ? null : round(allStoredMs / 1000, 2),
        live_p99_alone_ms: uncontended.p99_ms,
        live_p99_ratio: ratio,
        live_errors: errors,
        background_peak_rss_mb: round(childPeak / 1e6, 0),
        background_private_peak_mb: round(childPrivatePeak / 1e6, 0),
        rss_together_peak_mb: round(together / 1e6, 0),
      },
    };
  } finally {
    await origin.stop();
  }
}
