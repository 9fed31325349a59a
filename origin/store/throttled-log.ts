/**
 * Logs a recurring failure once per interval with how often it happened meanwhile, so a result
 * store that is down writes one line every few seconds rather than one per request.
 */

export interface ThrottledLog {
  report(operation: string, error: unknown): void;
}

export function createThrottledLog(warn: (fields: Record<string, unknown>, message: string) => void, intervalMs: number, now: () => number = Date.now): ThrottledLog {
  const last = new Map<string, { at: number; suppressed: number }>();
  return {
    report(operation, error) {
      const seen = last.get(operation);
      const time = now();
      if (seen && time - seen.at < intervalMs) {
        seen.suppressed++;
        return;
      }
      last.set(operation, { at: time, suppressed: 0 });
      const message = error instanceof Error ? error.message : String(error);
      warn({ operation, error: message, suppressedSinceLast: seen?.suppressed ?? 0 }, 'result store failing; requests fall back to transforming');
    },
  };
}
