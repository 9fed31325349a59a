/**
 * Request coalescing: concurrent callers asking for the same key share one piece of work and get
 * the very same result object. The work runs under its own AbortSignal, so one caller hanging up
 * never cancels it for the others; only when every caller has left is the work aborted (a task
 * still waiting in a queue is then dropped before it starts). Results are not kept once settled.
 */

export interface SharedWork<T> {
  /**
   * Joins the work in flight for `key`, or starts `produce` for it. Rejects with the caller's
   * abort reason if `signal` aborts first; the work goes on while others still wait.
   */
  run(key: string, signal: AbortSignal | undefined, produce: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** True while work for `key` is in flight (a caller would join it). */
  has(key: string): boolean;
  /** Keys with work in flight. */
  readonly size: number;
}

interface Flight<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  waiters: number;
}

export function createSharedWork<T>(onJoin?: () => void): SharedWork<T> {
  const flights = new Map<string, Flight<T>>();

  function start(key: string, produce: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    const flight: Flight<T> = {
      controller,
      waiters: 0,
      promise: Promise.resolve()
        .then(() => produce(controller.signal))
        .finally(() => {
          if (flights.get(key) === flight) flights.delete(key);
        }),
    };
    // Nobody may be listening when the last waiter has left and the work then fails.
    flight.promise.catch(() => undefined);
    flights.set(key, flight);
    return flight;
  }

  return {
    has: (key) => flights.has(key),
    get size() {
      return flights.size;
    },
    run(key, signal, produce) {
      if (signal?.aborted) return Promise.reject(signal.reason as unknown);
      let flight = flights.get(key);
      if (flight) onJoin?.();
      else flight = start(key, produce);
      const joined = flight;
      joined.waiters++;
      if (!signal) return joined.promise;
      return new Promise<T>((resolve, reject) => {
        const leave = () => {
          joined.waiters--;
          if (joined.waiters === 0) {
            joined.controller.abort(signal.reason);
            if (flights.get(key) === joined) flights.delete(key);
          }
          reject(signal.reason);
        };
        signal.addEventListener('abort', leave, { once: true });
        joined.promise.then(
          (value) => (signal.removeEventListener('abort', leave), resolve(value)),
          (error: unknown) => (signal.removeEventListener('abort', leave), reject(error)),
        );
      });
    },
  };
}
