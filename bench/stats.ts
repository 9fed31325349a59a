/** Small statistics helpers shared by the scenarios and the report. */

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}

export interface LatencySummary {
  readonly p50_ms: number;
  readonly p95_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

export function summarizeLatency(values: readonly number[]): LatencySummary {
  return {
    p50_ms: round(percentile(values, 50), 2),
    p95_ms: round(percentile(values, 95), 2),
    p99_ms: round(percentile(values, 99), 2),
    max_ms: round(values.reduce((m, v) => Math.max(m, v), values.length === 0 ? NaN : -Infinity), 2),
  };
}

export function median(values: readonly number[]): number {
  return percentile50Interpolated(values.filter((v) => Number.isFinite(v)));
}

function percentile50Interpolated(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** a / b, or NaN when b is not a positive number. */
export function ratio(a: number, b: number): number {
  return b > 0 && Number.isFinite(a) ? a / b : NaN;
}

export function share(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}
