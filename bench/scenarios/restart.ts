/**
 * restart: transforms repeated after an origin restart, without and with a result store. A set of
 * variants is requested from a fresh origin, the origin is stopped (SIGTERM: queued result-store
 * writes finish) and a new one asked for the same set. Without a store every variant is made
 * again; with `ORIGIN_RESULT_STORE=fs:<tmp>` the second process should make none. Also the
 * latency of the second pass each way (store reads against transforms).
 */
import path from 'node:path';
import { probe, metricSum, startOriginProcess, type RunningOriginProcess } from '../origin-process.js';
import { percentile, round } from '../stats.js';
import { requestHeaders, requestPath, type ImageRequest } from '../workload.js';
import { NO_CPU_FIGURES, type RunFigures, type ScenarioContext } from './types.js';

const QUERIES = ['w=200&h=200&fit=cover', 'w=480', 'w=828&fm=webp'];

async function pass(origin: RunningOriginProcess, requests: readonly ImageRequest[]): Promise<number[]> {
  const ms: number[] = [];
  for (const r of requests) {
    const started = performance.now();
    const answer = await probe(`${origin.base}${requestPath(r)}`, requestHeaders(r));
    if (answer?.status !== 200) throw new Error(`restart: ${requestPath(r)} answered ${answer?.status ?? 'nothing'}:\n${origin.logTail()}`);
    ms.push(performance.now() - started);
  }
  return ms;
}

async function transforms(origin: RunningOriginProcess): Promise<number> {
  return metricSum(await origin.metrics(), 'image_origin_transforms_total');
}

/** Transforms made by the second process, and its per-request times, with the store on or off. */
async function restartOnce(ctx: ScenarioContext, roundNo: number, withStore: boolean, requests: readonly ImageRequest[]) {
  const store: Record<string, string> = withStore ? { ORIGIN_RESULT_STORE: `fs:${path.join(ctx.tmpDir, `results-${roundNo}`)}` } : {};
  const settings = { ...ctx.origin, env: { ...ctx.origin.env, ...store } };
  const label = withStore ? 'with store' : 'no store';
  const first = await startOriginProcess(settings, ctx.storage.env, ctx.children, { role: `origin (restart #${roundNo}, ${label}, 1st)` });
  try {
    await pass(first, requests);
  } finally {
    await first.stop();
  }
  const second = await startOriginProcess(settings, ctx.storage.env, ctx.children, { role: `origin (restart #${roundNo}, ${label}, 2nd)` });
  try {
    const ms = await pass(second, requests);
    return { transforms: await transforms(second), ms, rss: await second.peakRss() };
  } finally {
    await second.stop();
  }
}

export async function runRestart(ctx: ScenarioContext, roundNo: number): Promise<RunFigures> {
  const requests: ImageRequest[] = ctx.layout.baseKeys.flatMap((key) => QUERIES.map((query) => ({ key, query, client: 'webp' as const })));
  const started = performance.now();
  const without = await restartOnce(ctx, roundNo, false, requests);
  const withStore = await restartOnce(ctx, roundNo, true, requests);
  const seconds = (performance.now() - started) / 1000;
  const p = (ms: number[], q: number) => round(percentile(ms, q), 1);
  const rss = [without.rss, withStore.rss].filter((v): v is number => v !== null);
  return {
    name: 'restart',
    round: roundNo,
    rps: null,
    p50_ms: p(withStore.ms, 50),
    p95_ms: p(withStore.ms, 95),
    p99_ms: p(withStore.ms, 99),
    requests: requests.length,
    seconds: round(seconds, 1),
    peak_rss_mb: rss.length > 0 ? round(Math.max(...rss) / 1e6, 0) : null,
    ...NO_CPU_FIGURES,
    note:
      `${requests.length} variants after a restart: ${without.transforms} transforms without a store, ${withStore.transforms} with one; ` +
      `second pass p50 ${p(without.ms, 50)} ms → ${p(withStore.ms, 50)} ms`,
    extra: {
      variants: requests.length,
      transforms_without_store: without.transforms,
      transforms_with_store: withStore.transforms,
      p50_without_store_ms: p(without.ms, 50),
      p50_with_store_ms: p(withStore.ms, 50),
    },
  };
}
