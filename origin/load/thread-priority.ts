/**
 * Thread priorities, Linux's per-thread nice values (a new thread takes its creator's):
 *
 * - libvips' worker threads, where transforms spend their CPU, run at nice 10 while the event
 *   loop stays at 0, so that when transforms fill every core a cache hit, a 304, a shed 503 or a
 *   health check still gets the CPU within a scheduler tick instead of queuing behind them.
 *   Transforms compete only among themselves, as before; the pre-render process (nice 19, every
 *   thread: `background-process.ts`) stays below them. Measured with `npm run bench -- --only
 *   overload` (2-core VM, 4x overload, 2 rounds each): sheds answered in p50 5–7 ms, p99 17–36 ms
 *   with every thread at 0; p50 3–4 ms, p99 17–21 ms with the workers at 10, and full-quality
 *   goodput 1.04–1.10x cold against 0.91–0.95x (README "Running at peak"). libvips grows its
 *   pool from whichever thread needs one, so the pool is looked over again every `SWEEP_MS`.
 *
 * Without Linux's /proc none of this applies (`lowerThreads` answers undefined).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export const TRANSFORM_THREAD_NICE = 10;
const SWEEP_MS = 1_000;
const LIBVIPS_WORKER = 'libvips worker';

/**
 * Gives `nice` to every thread of this process (or those whose name `select` picks) that is not
 * already that low; returns how many it lowered, or undefined without /proc.
 */
export function lowerThreads(nice: number, select?: (name: string) => boolean): number | undefined {
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  let lowered = 0;
  for (const tid of threads) {
    try {
      if (select && !select(readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim())) continue;
      if (getPriority(Number(tid)) >= nice) continue;
      setPriority(Number(tid), nice);
      lowered++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return lowered;
}

/** Lowers every libvips worker of this process not yet lowered; returns how many it lowered. */
export function lowerTransformThreads(nice = TRANSFORM_THREAD_NICE): number {
  return lowerThreads(nice, (name) => name === LIBVIPS_WORKER) ?? 0;
}

/** Keeps libvips' workers lowered while the server runs; returns the function that stops it. */
export function keepTransformThreadsLow(nice = TRANSFORM_THREAD_NICE): () => void {
  lowerTransformThreads(nice);
  const timer = setInterval(() => lowerTransformThreads(nice), SWEEP_MS).unref();
  return () => clearInterval(timer);
}
