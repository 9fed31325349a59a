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
 */
import { OverloadedError } from '../errors.js';

export interface WorkQueueOptions {
  readonly concurrency: number;
  readonly maxQueue: number;
  /** The predicted wait for a slot past which admission is refused, in milliseconds. */
  readonly maxWaitMs: number;
  /** Longest an admitted task waits for a slot before it is refused after all; default `maxWaitMs`. */
  readonly giveUpMs?: number;
}

/** A place in the queue taken by `reserve()`: run its task once, or cancel it. */
export interface Reservation {
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  cancel(): void;
}

export interface WorkQueue {
  /** Takes a place now, or throws OverloadedError when the queue is full or the predicted wait too long. */
  reserve(): Reservation;
  /** `reserve()` and run at once. */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly concurrency: number;
  readonly running: number;
  /** Admitted and not yet running (preparing or waiting for a slot). */
  readonly queued: number;
}

/** Weight of the newest duration in the moving average used to predict waits. */
const EWMA_WEIGHT = 0.2;

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const waiting: (() => void)[] = [];
  let running = 0;
  let reserved = 0;
  let averageTaskMs = 0;

  function assertAdmissible(): void {
    if (running + reserved < options.concurrency) return;
    if (reserved >= options.maxQueue) throw new OverloadedError('work queue is full');
    // The newcomer waits for everything admitted before it, spread over all slots.
    const predictedWaitMs = ((reserved + 1) / options.concurrency) * averageTaskMs;
    if (predictedWaitMs > options.maxWaitMs) throw new OverloadedError('predicted wait exceeds the wait budget');
  }

  async function execute<T>(task: () => Promise<T>): Promise<T> {
    running++;
    const started = performance.now();
    try {
      return await task();
    } finally {
      const took = performance.now() - started;
      averageTaskMs = averageTaskMs === 0 ? took : averageTaskMs + EWMA_WEIGHT * (took - averageTaskMs);
      running--;
      waiting.shift()?.();
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
      run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
        if (settled) throw new Error('reservation already used');
        if (signal?.aborted) {
          settle();
          return Promise.reject(signal.reason);
        }
        if (running < options.concurrency && waiting.length === 0) {
          settle();
          return execute(task);
        }
        return new Promise<T>((resolve, reject) => {
          const start = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            settle();
            execute(task).then(resolve, reject);
          };
          const leave = (reason: unknown) => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            const at = waiting.indexOf(start);
            if (at !== -1) waiting.splice(at, 1);
            settle();
            reject(reason);
          };
          const onAbort = () => leave(signal?.reason);
          const timer = setTimeout(() => leave(new OverloadedError('waited longer than the wait budget')), options.giveUpMs ?? options.maxWaitMs);
          signal?.addEventListener('abort', onAbort, { once: true });
          waiting.push(start);
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
    reserve,
    run: (task, signal) => reserve().run(task, signal),
  };
}
