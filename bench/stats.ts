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

export interface Trend {
  /** The least-squares line through the points, at the first and the last point's time. */
  readonly fitStart: number;
  readonly fitEnd: number;
  /** fitEnd / fitStart - 1: the trend, little moved by transient peaks. */
  readonly fitGrowth: number;
  readonly slopePerMinute: number;
  /** Median of the first tenth of the points (at least one), and of the last tenth. */
  readonly start: number;
  readonly end: number;
  /** end / start - 1: cruder, as each end holds a tenth of the samples. */
  readonly growth: number;
  readonly max: number;
  readonly points: number;
}

/**
 * How a sampled quantity moved over the points with t (seconds) >= `fromSeconds`: the least-squares
 * line through them (its growth from the first to the last point), and, as a cross-check, the
 * medians of the first and last tenth. Null with fewer than two points.
 */
export function trendAfter(points: readonly { readonly t: number; readonly v: number }[], fromSeconds: number): Trend | null {
  const window = points.filter((p) => p.t >= fromSeconds && Number.isFinite(p.v));
  if (window.length < 2) return null;
  const k = Math.max(1, Math.round(window.length / 10));
  const start = median(window.slice(0, k).map((p) => p.v));
  const end = median(window.slice(-k).map((p) => p.v));
  const n = window.length;
  const meanT = window.reduce((s, p) => s + p.t, 0) / n;
  const meanV = window.reduce((s, p) => s + p.v, 0) / n;
  const cov = window.reduce((s, p) => s + (p.t - meanT) * (p.v - meanV), 0);
  const varT = window.reduce((s, p) => s + (p.t - meanT) ** 2, 0);
  const slope = varT > 0 ? cov / varT : 0;
  const at = (t: number) => meanV + slope * (t - meanT);
  const fitStart = at((window[0] as { t: number }).t);
  const fitEnd = at((window[n - 1] as { t: number }).t);
  return {
    fitStart,
    fitEnd,
    fitGrowth: fitStart > 0 ? fitEnd / fitStart - 1 : NaN,
    slopePerMinute: slope * 60,
    start,
    end,
    growth: start > 0 ? end / start - 1 : NaN,
    max: Math.max(...window.map((p) => p.v)),
    points: n,
  };
}
