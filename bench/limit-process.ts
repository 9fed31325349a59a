/**
 * Child process for `limit`: the transform path with nothing around it. It runs the origin's own
 * `runPipeline` on the images in memory (no HTTP, no fetch), with sharp's cache off as main.ts
 * sets it, at the given concurrency. It is its own process, started like the origin (same
 * allocator preload), so the ceiling and the origin differ only in what the origin adds.
 * Protocol (IPC, advanced serialization): the parent sends one `LimitJob`; the child answers
 * `{ type: 'started' }` when the warm-up is over and the window begins, then a `LimitDone`, and
 * waits to be stopped (SIGTERM or disconnect).
 */
import sharp from 'sharp';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import { canonicalRequests } from './canonical-request.js';
import { CLIENT_WEIGHTS, coldSequence, type ClientKind } from './workload.js';

export interface LimitJob {
  /** Source bytes by key. */
  readonly bodies: Record<string, Buffer>;
  /** The keys `cold` uses, in its order. */
  readonly keys: readonly string[];
  readonly concurrency: number;
  readonly durationSeconds: number;
}

export interface LimitDone {
  readonly type: 'done';
  /** Milliseconds per image, every image started in the window. */
  readonly latencies: readonly number[];
  /** Images finished inside the window. */
  readonly completedInWindow: number;
  readonly outputBytes: number;
}

async function run(job: LimitJob): Promise<LimitDone> {
  sharp.cache(false);
  const toSpec = canonicalRequests(DEFAULT_LIMITS);
  const bytesOf = (key: string) => {
    const bytes = job.bodies[key];
    if (!bytes) throw new Error(`no image for ${key}`);
    return bytes;
  };
  // The same warm-up `cold` gives the origin: every codec once per image.
  for (const key of job.keys) {
    for (const client of Object.keys(CLIENT_WEIGHTS) as ClientKind[]) {
      await runPipeline(bytesOf(key), toSpec({ key, query: 'w=64', client }), DEFAULT_LIMITS);
    }
  }
  process.send?.({ type: 'started' });

  const next = coldSequence(job.keys);
  const windowMs = job.durationSeconds * 1000;
  const latencies: number[] = [];
  let outputBytes = 0;
  let completedInWindow = 0;
  const started = performance.now();
  const worker = async () => {
    while (performance.now() - started < windowMs) {
      const request = next();
      const t0 = performance.now();
      const result = await runPipeline(bytesOf(request.key), toSpec(request), DEFAULT_LIMITS);
      const t1 = performance.now();
      outputBytes += result.data.byteLength;
      // As in cold: an image finishing after the window counts for latency, not for the rate.
      latencies.push(t1 - t0);
      if (t1 - started <= windowMs) completedInWindow++;
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  return { type: 'done', latencies, completedInWindow, outputBytes };
}

process.once('disconnect', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
process.once('message', (job: LimitJob) => {
  run(job).then(
    // Stay until the parent has read this process's peak RSS and stops it.
    (done) => process.send?.(done),
    (error: unknown) => {
      process.stderr.write(`limit: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
});
