/**
 * Bounded concurrency for expensive work (transforms, source fetches): at most `concurrency` tasks
 * run, at most `maxQueue` are admitted but not yet running, and a newcomer whose predicted wait is
 * longer than `maxWaitMs` is not admitted. Past those bounds the queue refuses at once with
 * `OverloadedError` (503) instead of letting latency grow without limit. An admitted waiter leaves
 * only after `giveUpMs`: refusing at the door answers in milliseconds, whereas shedding a request
 * that has already waited wastes its wait and answers late.
 *
 * Admission is a reservation taken before any preparatory work (the source fetch of a transform),
 * so a request that would be refused is refused before it touches the source, and requests busy
 * fetching already count as queued. A waiter whose signal aborts leaves before its task starts.
 *
 * With `memoryBytes`, each task also says how much memory it will need at its peak, and a task
 * starts only while the running tasks' estimates and its own fit in that budget, or when nothing
 * else runs (so a task larger than the budget runs alone). Waiters start in order: a large one at
 * the head is not overtaken, so it cannot starve.
 */
import { OverloadedError } from '../errors.js';

export interface WorkQueueOptions {
  readonly concurrency: number;
  readonly maxQueue: number;
  /** The predicted wait for a slot past which admission is refused, in milliseconds. */
  readonly maxWaitMs: number;
  /** Longest an admitted task waits for a slot before it is refused after all; default `maxWaitMs`. */
  readonly giveUpMs?: number;
  /** Memory the running tasks may need together, in bytes (their own estimates); unbounded when absent. */
  readonly memoryBytes?: number;
  /** Told each time a task waits because of the memory budget rather than for a free slot. */
  readonly onMemoryWait?: () => void;
}

/** A place in the queue taken by `reserve()`: run its task once, or cancel it. */
export interface Reservation {
  /** `memoryBytes`: the task's estimated peak memory (counted against the queue's budget). */
  run<T>(task: () => Promise<T>, signal?: AbortSignal, memoryBytes?: number): Promise<T>;
  cancel(): void;
}

export interface WorkQueue {
  /** Takes a place now, or throws OverloadedError when the queue is full or the predicted wait too long. */
  reserve(): Reservation;
  /** `reserve()` and run at once. */
  run<T>(task: () => Promise<T>, signal?: AbortSignal, memoryBytes?: number): Promise<T>;
  readonly concurrency: number;
  readonly running: number;
  /** Admitted and not yet running (preparing or waiting for a slot). */
  readonly queued: number;
  /** Estimated peak memory of the running tasks, in bytes. */
  readonly runningBytes: number;
}

/** Weight of the newest duration in the moving average used to predict waits. */
const EWMA_WEIGHT = 0.2;

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const waiting: { readonly start: () => void; readonly bytes: number }[] = [];
  const budget = options.memoryBytes ?? Number.POSITIVE_INFINITY;
  let running = 0;
  let runningBytes = 0;
  let reserved = 0;
  let averageTaskMs = 0;

  const fits = (bytes: number) => running < options.concurrency && (running === 0 || runningBytes + bytes <= budget);
  /** Starts waiters in order while the first fits: one task's end (or a large waiter leaving) may make room for several. */
  const startWaiters = () => {
    while (waiting[0] && fits(waiting[0].bytes)) waiting[0].start();
  };

  function assertAdmissible(): void {
    if (running + reserved < options.concurrency) return;
    if (reserved >= options.maxQueue) throw new OverloadedError('work queue is full');
    // The newcomer waits for everything admitted before it, spread over all slots.
    const predictedWaitMs = ((reserved + 1) / options.concurrency) * averageTaskMs;
    if (predictedWaitMs > options.maxWaitMs) throw new OverloadedError('predicted wait exceeds the wait budget');
  }

  async function execute<T>(task: () => Promise<T>, bytes: number): Promise<T> {
    running++;
    runningBytes += bytes;
    const started = performance.now();
    try {
      return await task();
    } finally {
      const took = performance.now() - started;
      averageTaskMs = averageTaskMs === 0 ? took : averageTaskMs + EWMA_WEIGHT * (took - averageTaskMs);
      running--;
      runningBytes -= bytes;
      startWaiters();
    }
  }

  function reserve(): Reservation {
    assertAdmissible();
    reserved++;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      reserved--;
      return true;
    };
    return {
      cancel: () => void settle(),
      run<T>(task: () => Promise<T>, signal?: AbortSignal, memoryBytes = 0): Promise<T> {
        if (settled) throw new Error('reservation already used');
        if (signal?.aborted) {
          settle();
          return Promise.reject(signal.reason);
        }
        if (waiting.length === 0 && fits(memoryBytes)) {
          settle();
          return execute(task, memoryBytes);
        }
        if (running < options.concurrency && waiting.length === 0) options.onMemoryWait?.();
        return new Promise<T>((resolve, reject) => {
          const leaveQueue = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            const at = waiting.indexOf(place);
            if (at !== -1) waiting.splice(at, 1);
            settle();
          };
          const start = () => {
            leaveQueue();
            execute(task, memoryBytes).then(resolve, reject);
          };
          const place = { start, bytes: memoryBytes };
          const leave = (reason: unknown) => {
            leaveQueue();
            reject(reason);
            startWaiters();
          };
          const onAbort = () => leave(signal?.reason);
          const timer = setTimeout(() => leave(new OverloadedError('waited longer than the wait budget')), options.giveUpMs ?? options.maxWaitMs);
          signal?.addEventListener('abort', onAbort, { once: true });
          waiting.push(place);
        });
      },
    };
  }

  return {
    concurrency: options.concurrency,
    get running() {
      return running;
    },
    get queued() {
      return reserved;
    },
    get runningBytes() {
      return runningBytes;
    },
    reserve,
    run: (task, signal, memoryBytes) => reserve().run(task, signal, memoryBytes),
  };
}
