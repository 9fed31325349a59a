/**
 * Shutdown that always ends. On SIGTERM/SIGINT `/readyz` turns 503, the servers stop accepting
 * connections and in-flight requests get `ORIGIN_SHUTDOWN_GRACE_MS` to finish; once everything is
 * closed the process exits 0. Past the grace period it logs what it abandons (requests in flight,
 * transforms running and queued), drops every connection and exits 1; if something still holds
 * it then, it kills itself `HARD_EXIT_DELAY_MS` later.
 *
 * Why it never calls `process.exit()`: exiting tears libuv down, which joins the threads of its
 * pool, and a thread blocked in a call that does not return (a read from a hung network mount,
 * a FIFO nobody writes, a DNS lookup, a stuck transform) makes `process.exit()` (and
 * `process.reallyExit()`) wait for it for ever, with the main thread stuck inside the call so no
 * timer can rescue it. So the process ends the way Node ends by itself, when nothing is left to
 * run (then every pool thread is idle and the join is immediate), and when that does not happen in
 * time, by SIGKILL, which nothing can block.
 */
import type { Logger } from 'pino';

/** Room, after giving up, for what was dropped to unwind, so the process exits 1 by itself. */
export const HARD_EXIT_DELAY_MS = 2_000;

export interface InFlightWork {
  /** HTTP requests received and not yet answered. */
  readonly requests: number;
  readonly transformsRunning: number;
  /** Transforms admitted and waiting for a slot (or for their source). */
  readonly transformsQueued: number;
}

export interface ShutdownPlan {
  /** Writes synchronously: its last lines must be out before a SIGKILL. */
  readonly logger: Logger;
  readonly graceMs: number;
  setReady(ready: boolean): void;
  /** Stops accepting; resolves once every request is answered and every listener and pool closed. */
  drain(): Promise<void>;
  inFlight(): InFlightWork;
  /** Closes every connection still open, so their clients learn now rather than at the kill. */
  dropConnections(): void;
}

export function shutDownOnSignals(plan: ShutdownPlan): void {
  let started = false;
  const begin = (signal: NodeJS.Signals) => {
    if (started) return;
    started = true;
    void shutDown(plan, signal);
  };
  process.once('SIGTERM', begin);
  process.once('SIGINT', begin);
}

async function shutDown(plan: ShutdownPlan, signal: NodeJS.Signals): Promise<void> {
  plan.setReady(false);
  plan.logger.info({ signal, graceMs: plan.graceMs }, 'shutting down: finishing in-flight requests');
  let abandoned = false;
  // Kept after a clean drain too: a process still alive when the grace ends is held by something
  // (an abandoned transform still running, say), and this ends it. Unref'd, so it never is what holds it.
  setTimeout(() => {
    abandoned = true;
    abandon(plan);
  }, plan.graceMs).unref();
  let failed = false;
  try {
    await plan.drain();
  } catch (error) {
    failed = true;
    plan.logger.error({ err: error }, 'shutdown: closing failed');
  }
  if (abandoned) return;
  if (!failed) plan.logger.info('shut down cleanly');
  // No process.exit() (see above): the process ends when nothing is left to run.
  process.exitCode = failed ? 1 : 0;
}

function abandon(plan: ShutdownPlan): void {
  plan.logger.warn({ abandoned: plan.inFlight(), graceMs: plan.graceMs }, 'grace period over: exiting with work abandoned');
  process.exitCode = 1;
  plan.dropConnections();
  setTimeout(() => {
    plan.logger.error({ stillRunning: process.getActiveResourcesInfo() }, 'still running after the grace period: killing the process');
    process.kill(process.pid, 'SIGKILL');
  }, HARD_EXIT_DELAY_MS).unref();
}
