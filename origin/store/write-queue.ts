/**
 * Background writes to the result store: at most `concurrency` run, at most `maxQueue` wait, and
 * one more is dropped (and counted) rather than held: a store that cannot keep up must cost
 * memory no more than the queue's bound, and never a request's time.
 */

export interface WriteQueue {
  /** Queues `write`; false when the queue is full and the write was dropped. */
  offer(name: string, write: () => Promise<void>): boolean;
  /** Resolves when the write queued under `name` (if any) has finished, whatever its result. */
  settled(name: string): Promise<void>;
  /** Waiting and running. */
  readonly depth: number;
  /** Resolves when every queued write has finished. */
  drain(): Promise<void>;
}

export function createWriteQueue(options: { readonly concurrency: number; readonly maxQueue: number }): WriteQueue {
  const waiting: { name: string; write: () => Promise<void> }[] = [];
  const pending = new Map<string, Promise<void>>();
  const finished = new Map<string, () => void>();
  let running = 0;
  let idle: (() => void)[] = [];

  function pump(): void {
    while (running < options.concurrency && waiting.length > 0) {
      const next = waiting.shift()!;
      running++;
      next
        .write()
        .catch(() => undefined) // the writer counts and logs its own failures
        .finally(() => {
          running--;
          finished.get(next.name)?.();
          finished.delete(next.name);
          pending.delete(next.name);
          if (running === 0 && waiting.length === 0) {
            for (const resolve of idle) resolve();
            idle = [];
          }
          pump();
        });
    }
  }

  return {
    offer(name, write) {
      if (pending.has(name)) return true; // the same result is already on its way
      if (waiting.length >= options.maxQueue) return false;
      pending.set(name, new Promise<void>((resolve) => finished.set(name, resolve)));
      waiting.push({ name, write });
      pump();
      return true;
    },
    settled: (name) => pending.get(name) ?? Promise.resolve(),
    get depth() {
      return waiting.length + running;
    },
    drain: () => (running === 0 && waiting.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve))),
  };
}
