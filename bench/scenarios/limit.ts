/**
 * limit: the ceiling of the transform path. The same requests as `cold`, in the same order, at the
 * origin's transform concurrency, through the origin's own `runPipeline` (sniff, header probe,
 * plan, decode + auto-orient + resize + encode with the origin's encoder settings), sharp's cache
 * off. No HTTP, no fetch: what `cold` could reach if everything around the transform cost nothing.
 * It runs in a child process started like the origin (bench/limit-process.ts), so both have the
 * same allocator and a fresh heap.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tailOf } from '../children.js';
import type { LimitDone, LimitJob } from '../limit-process.js';
import { round, summarizeLatency } from '../stats.js';
import { cpuWindow, processMemory, type CpuWindowResult } from '../system.js';
import { withAllocator } from '../environment.js';
import { otherCores } from './common.js';
import type { RunFigures, ScenarioContext } from './types.js';

const ENTRY = fileURLToPath(new URL('../limit-process.js', import.meta.url));

export async function runLimit(ctx: ScenarioContext, roundNo: number): Promise<RunFigures> {
  const env = withAllocator(process.env, ctx.origin.jemallocPath);
  const child = fork(ENTRY, [], { serialization: 'advanced', env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const exited = ctx.children.track(`limit (#${roundNo})`, child);
  const stderr = tailOf(child.stderr);
  const bodies = Object.fromEntries(ctx.layout.baseKeys.map((key) => [key, ctx.layout.imageOf.get(key)?.bytes ?? Buffer.alloc(0)]));
  const job: LimitJob = {
    bodies,
    keys: ctx.layout.baseKeys,
    concurrency: ctx.origin.transformConcurrency,
    durationSeconds: ctx.options.durations.limit,
  };
  let window: { stop(): CpuWindowResult } | undefined;
  let done: LimitDone;
  let peak: number | undefined;
  let used: CpuWindowResult | undefined;
  try {
    child.send(job);
    done = await Promise.race([
      new Promise<LimitDone>((resolve) => {
        child.on('message', (message: { type: 'started' } | LimitDone) => {
          if (message.type === 'started') window = cpuWindow({ limit: child.pid as number });
          else resolve(message);
        });
      }),
      exited.then((r) => {
        throw new Error(`limit child exited (${r.exitCode ?? r.signal}) before reporting:\n${stderr()}`);
      }),
    ]);
    // The window ends when the child reports, a moment after its last image, before it is stopped.
    used = window?.stop();
    peak = processMemory(child.pid as number)?.peak;
  } finally {
    await ctx.children.stop(child);
  }
  const seconds = ctx.options.durations.limit;
  const limitCores = used?.cores['limit'];
  return {
    name: 'limit',
    round: roundNo,
    rps: round(done.completedInWindow / seconds, 2),
    ...summarizeLatency(done.latencies),
    requests: done.latencies.length,
    seconds,
    peak_rss_mb: peak === undefined ? null : round(peak / 1e6, 0),
    server_cores: limitCores === null || limitCores === undefined ? null : round(limitCores, 2),
    loadgen_cores: null,
    storage_cores: null,
    other_cores: used ? otherCores(used) : null,
    steal: used?.steal === null || used === undefined ? null : round(used.steal, 3),
    note: `runPipeline in a child x${job.concurrency}, avg ${Math.round(done.outputBytes / Math.max(1, done.latencies.length) / 1024)} KiB out`,
    extra: { method: 'runPipeline in its own process (no HTTP, no fetch), same allocator as the origin', concurrency: job.concurrency },
  };
}
