/**
 * Which new variants are made the cheap way (their economy twin) while the transform queue is
 * deep. Degrading everything under pressure serves many images but almost none at full quality;
 * degrading nothing serves capacity and sheds the rest. Between the two, the policy spends a
 * bounded share of the transform time on full quality, and spends it where full quality costs
 * least beyond the economy twin that would be made instead: a thumbnail whose economy twin takes
 * as long as itself (the decode is most of it) keeps its quality for nothing, a 2048-px AVIF of a
 * 12 MP photo (nine times its WebP economy twin) is the first to be degraded. Requests beyond
 * capacity are degraded, and beyond the queue's own bounds, shed (work-queue.ts).
 *
 * Costs are learned, not guessed: each transform's duration is averaged per cost class (output
 * format, economy or not, output size and source size, each in powers of two), and a class not
 * timed yet is estimated from the nearest timed class of its format. The classes are few
 * (formats x economy x about 20 size steps x about 20 source sizes at most), so the map of
 * averages stays small and the nearest one is found by looking at each.
 */

/** Names a kind of transform whose cost is roughly the same: see `costClass`. */
export type CostClass = string & { readonly __costClass: unique symbol };

export interface DegradePolicy {
  /** Under `pressure`: whether a variant of class `full`, not being made yet, should be made as its economy twin (class `economy`). */
  shouldDegrade(full: CostClass, economy: CostClass, pressure: boolean): boolean;
  /** What one transform of this class took (wall-clock milliseconds on its slot). */
  observe(costClass: CostClass, ms: number): void;
}

export interface DegradePolicyOptions {
  /** Transform slots: the time budget is this many milliseconds per millisecond. */
  readonly concurrency: number;
  /** Milliseconds on a steady clock; `performance.now` in production, a fake one in tests. */
  readonly now?: () => number;
}

/**
 * Share of the transform time that full quality may take under pressure beyond what the economy
 * twins would have taken. Under the bench's 4x overload (`--only limit,cold,overload`, 2-3 rounds
 * each, 2026-12-07) goodput / full-quality goodput against cold were, by share: 0.5 2.66-3.43x /
 * 1.38-1.77x (median 3.00 / 1.57), 0.35 2.93-3.24 / 1.48-1.60, 0.25 2.85-4.14 / 1.09-2.00 (3.10 /
 * 1.36), 0.15 3.30-3.58 / 1.12-1.34. Charging full cost instead of the saving, as before, gave
 * 2.26-3.84x / 0.62-1.35x: thumbnails whose twin saves nothing were degraded for nothing. A
 * quarter keeps full quality well above the 0.8x target and gives the rest to goodput.
 */
export const FULL_QUALITY_SHARE = 0.25;
/** The full-quality budget can be saved up for this long (it refills while there is no pressure). */
const BUDGET_HORIZON_MS = 1_000;
/** Weight of the newest duration in a class's moving average. */
const EWMA_WEIGHT = 0.2;
/** Recent savings kept to tell cheap requests from expensive ones (their median). */
const RECENT_ESTIMATES = 128;

export function costClass(format: string, economy: boolean, outputPixels: number | undefined, sourceBytes: number | undefined): CostClass {
  const bucket = (n: number | undefined) => (n === undefined || n <= 0 ? '-' : String(Math.round(Math.log2(n))));
  return `${format}|${economy ? 'eco' : 'full'}|${bucket(outputPixels)}|${bucket(sourceBytes)}` as CostClass;
}

/**
 * The cost of an untimed class from the timed classes of the same format and economy: the nearest
 * in output and source size, doubled for every power of two this one is larger in either (the
 * work grows with the pixels), and never halved for one it is smaller (decoding the source and
 * setting up cost the same). Without it every new size would count as expensive until it had been
 * made at full quality, which under lasting pressure never happens: in the bench's `overload`
 * (a fresh process, widths shifting by one pixel per request), over half of the decisions under
 * pressure were for classes never timed, all of them degraded, and 0.48-0.59x the cold rate kept
 * full quality; with these estimates 1.00-1.07x (2026-12-06).
 */
export function neighbourEstimate(c: CostClass, averages: ReadonlyMap<CostClass, number>): number {
  const [format, settings, out, source] = c.split('|');
  const size = (bucket: string | undefined) => (bucket === undefined || bucket === '-' ? undefined : Number(bucket));
  const [wantOut, wantSource] = [size(out), size(source)];
  if (wantOut === undefined || wantSource === undefined) return Infinity;
  let best = Infinity;
  let bestDistance = Infinity;
  for (const [timed, ms] of averages) {
    const [timedFormat, timedSettings, o, src] = timed.split('|');
    const [timedOut, timedSource] = [size(o), size(src)];
    if (timedFormat !== format || timedSettings !== settings || timedOut === undefined || timedSource === undefined) continue;
    const distance = Math.abs(wantOut - timedOut) + Math.abs(wantSource - timedSource);
    const scaled = ms * 2 ** (Math.max(0, wantOut - timedOut) + Math.max(0, wantSource - timedSource));
    if (distance < bestDistance || (distance === bestDistance && scaled > best)) [best, bestDistance] = [scaled, distance];
  }
  return best;
}

export function createDegradePolicy({ concurrency, now = () => performance.now() }: DegradePolicyOptions): DegradePolicy {
  const averages = new Map<CostClass, number>();
  /** Untimed full-quality classes kept once to be timed: an estimate is a guess (from a larger neighbour, only a bound). */
  const tried = new Set<CostClass>();
  const recent: number[] = [];
  const capacity = concurrency * FULL_QUALITY_SHARE * BUDGET_HORIZON_MS;
  let budget = capacity;
  let refilledAt = now();

  // A kind of transform not timed yet is estimated from the nearest timed one of its format; one
  // whose format was never timed is assumed expensive: under pressure, guessing wrong the other way
  // spends the full-quality share on a 12 MP AVIF.
  const estimate = (c: CostClass) => averages.get(c) ?? neighbourEstimate(c, averages);
  /** What full quality costs beyond the economy twin; an economy twin never timed counts as free. */
  function saving(full: CostClass, economy: CostClass): number {
    const twin = estimate(economy);
    return Math.max(0, estimate(full) - (Number.isFinite(twin) ? twin : 0));
  }

  function refill(): void {
    const at = now();
    budget = Math.min(capacity, budget + (at - refilledAt) * concurrency * FULL_QUALITY_SHARE);
    refilledAt = at;
  }

  /** The lower median of the recent requests' savings (Infinity before the first). */
  function median(): number {
    if (recent.length === 0) return Infinity;
    const sorted = [...recent].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] as number;
  }

  return {
    shouldDegrade(full, economy, pressure) {
      refill();
      const cost = saving(full, economy);
      const untried = !averages.has(full) && !tried.has(full);
      // Saving no more than the median of the requests before it, or never timed, and within the full-quality share of the time.
      const keep = !pressure || (budget >= cost && (cost <= median() || untried));
      recent.push(cost);
      if (recent.length > RECENT_ESTIMATES) recent.shift();
      if (pressure && keep) {
        budget -= cost;
        if (untried) tried.add(full);
      }
      return !keep;
    },
    observe(c, ms) {
      const average = averages.get(c);
      averages.set(c, average === undefined ? ms : average + EWMA_WEIGHT * (ms - average));
    },
  };
}
