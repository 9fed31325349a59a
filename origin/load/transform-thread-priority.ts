/**
 * libvips' worker threads, where transforms spend their CPU, run at nice 10 while the event loop
 * stays at 0, so that when transforms fill every core a cache hit, a 304, a shed 503 or a health
 * check still gets the CPU within a scheduler tick instead of queuing behind them. Transforms
 * compete only among themselves, as before; the pre-render process (nice 19) stays below them.
 * Measured with `npm run bench -- --only overload` (2-core VM, 4x overload, 2 rounds each): sheds
 * answered in p50 5–7 ms, p99 17–36 ms with every thread at 0; p50 3–4 ms, p99 17–21 ms with
 * the workers at 10, and full-quality goodput 1.04–1.10x cold against 0.91–0.95x (README
 * "Running at peak").
 *
 * Linux keeps a nice value per thread, and a new thread takes its creator's. libvips grows its
 * pool from whichever thread needs one, so the pool is looked over again every `SWEEP_MS`.
 * Elsewhere than Linux this does nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export const TRANSFORM_THREAD_NICE = 10;
const SWEEP_MS = 1_000;
const LIBVIPS_WORKER = 'libvips worker';

/** Lowers every libvips worker of this process not yet lowered; returns how many it lowered. */
export function lowerTransformThreads(nice = TRANSFORM_THREAD_NICE): number {
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  let lowered = 0;
  for (const tid of threads) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== LIBVIPS_WORKER) continue;
      if (getPriority(Number(tid)) >= nice) continue;
      setPriority(Number(tid), nice);
      lowered++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return lowered;
}

/** Keeps libvips' workers lowered while the server runs; returns the function that stops it. */
export function keepTransformThreadsLow(nice = TRANSFORM_THREAD_NICE): () => void {
  lowerTransformThreads(nice);
  const timer = setInterval(() => lowerTransformThreads(nice), SWEEP_MS).unref();
  return () => clearInterval(timer);
}
