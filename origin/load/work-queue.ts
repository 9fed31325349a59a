/**
 * Bounded concurrency for expensive work (transforms, source fetches): at most `concurrency` tasks
 * run, at most `maxQueue` wait, and none waits longer than `maxWaitMs`. Past those bounds the
 * queue refuses at once with `OverloadedError` (503) instead of letting latency grow without
 * limit. A waiter whose signal aborts leaves the queue before its task ever starts.
 */
import { OverloadedError } from '../../transforms/errors.js';

export interface WorkQueueOptions {
  readonly concurrency: number;
  readonly maxQueue: number;
  /** Longest a task may wait for a slot, in milliseconds. */
  readonly maxWaitMs: number;
}

export interface WorkQueue {
  /** Runs `task` when a slot is free; rejects with OverloadedError when the queue is full or the wait is too long. */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Refuses now, before any other work is done, when a new task would be refused anyway. */
  assertAdmissible(): void;
  readonly running: number;
  readonly queued: number;
}

interface Waiter {
  start(): void;
}

/** Weight of the newest duration in the moving average used to predict waits. */
const EWMA_WEIGHT = 0.2;

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const waiters: Waiter[] = [];
  let running = 0;
  let averageTaskMs = 0;

  function release() {
    running--;
    waiters.shift()?.start();
  }

  /** Time the last in line would wait: queued tasks ahead of it, spread over all slots. */
  function predictedWaitMs(): number {
    return ((waiters.length + 1) / options.concurrency) * averageTaskMs;
  }

  function assertAdmissible(): void {
    if (running < options.concurrency) return;
    if (waiters.length >= options.maxQueue) throw new OverloadedError('work queue is full');
    if (predictedWaitMs() > options.maxWaitMs) throw new OverloadedError('predicted wait exceeds the wait budget');
  }

  async function execute<T>(task: () => Promise<T>): Promise<T> {
    running++;
    const started = performance.now();
    try {
      return await task();
    } finally {
      const took = performance.now() - started;
      averageTaskMs = averageTaskMs === 0 ? took : averageTaskMs + EWMA_WEIGHT * (took - averageTaskMs);
      release();
    }
  }

  return {
    get running() {
      return running;
    },
    get queued() {
      return waiters.length;
    },
    assertAdmissible,
    run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      signal?.throwIfAborted();
      if (running < options.concurrency) return execute(task);
      assertAdmissible();
      return new Promise<T>((resolve, reject) => {
        const leave = (error: unknown) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          const at = waiters.indexOf(waiter);
          if (at !== -1) waiters.splice(at, 1);
          reject(error);
        };
        const onAbort = () => leave(signal?.reason);
        const waiter: Waiter = {
          start() {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            execute(task).then(resolve, reject);
          },
        };
        const timer = setTimeout(() => leave(new OverloadedError('waited longer than the wait budget')), options.maxWaitMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        waiters.push(waiter);
      });
    },
  };
}
