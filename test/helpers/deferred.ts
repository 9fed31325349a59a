/** Hand-settled promises and a turn of the event loop, for tests that drive async code step by step. */
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run (one macrotask turn is past all queued microtasks). */
export async function settled(): Promise<void> {
  await nextTurn();
}

/** For `assert.rejects`/`assert.throws`: the error is this very object, not an equal copy. */
export const isSame = (expected: unknown) => (actual: unknown) => actual === expected;
