/**
 * The one description of what a CDN must do to a request before it looks up its cache, derived
 * from the origin's configuration: reduce `Accept` to the format token (the origin's rule,
 * `q=0` included), and replace the client hints by snapped, canonical values. Every edge target
 * (origin/edge/*.ts) renders this description in its own language, so the cache key holds only
 * what the origin's answer depends on, and the origin receives exactly what the key holds.
 *
 * Canonical hints (sent to the origin instead of whatever the client sent):
 * - `Sec-CH-DPR`: the DPR hint snapped up to `ORIGIN_DPR_STEPS` (1 without a hint), for URLs with
 *   `dpr=auto`;
 * - `Sec-CH-Width`: the width hint snapped up to `ORIGIN_WIDTH_STEPS`, for URLs with `w=auto`;
 * - `Sec-CH-Viewport-Width` (only without a width hint): one representative of the viewport's
 *   class. Two viewports are in one class when the origin makes the same width from them at every
 *   DPR in {1} ∪ ORIGIN_DPR_STEPS, so the origin's answer is unchanged and a few values remain;
 * - `Save-Data: on` or nothing. Legacy names (`DPR`, `Width`, `Viewport-Width`) are removed.
 * URLs without `auto` lose every hint header: the origin ignores them there, and the key stays
 * one entry per URL and token.
 */
import type { PresetRegistry } from '../../presets/preset-registry.js';
import type { HintSteps } from '../http/client-hints.js';
import { snapUp } from '../http/client-hints.js';

/** One row of a "first row whose bound is at least the value" table. */
export interface StepRow {
  readonly upTo: number;
  readonly value: number;
}

export interface EdgeRules {
  /** DPR hint → canonical DPR: first row with value ≤ upTo, else `dprOver`. */
  readonly dpr: readonly StepRow[];
  readonly dprOver: number;
  /** Width hint (device px) → canonical width. */
  readonly width: readonly StepRow[];
  readonly widthOver: number;
  /** Viewport hint (CSS px) → a representative of its class. */
  readonly viewport: readonly StepRow[];
  readonly viewportOver: number;
  /** Presets whose own parameters ask for `w=auto` / `dpr=auto` (`?preset=<name>`). */
  readonly widthAutoPresets: readonly string[];
  readonly dprAutoPresets: readonly string[];
}

/** Header names the edge owns: it sets or removes each of them on every request. */
export const EDGE_HEADERS = {
  token: 'X-Image-Format-Token',
  dpr: 'Sec-CH-DPR',
  width: 'Sec-CH-Width',
  viewport: 'Sec-CH-Viewport-Width',
  saveData: 'Save-Data',
  legacy: ['DPR', 'Width', 'Viewport-Width'],
} as const;

const rows = (steps: readonly number[]): StepRow[] => steps.map((step) => ({ upTo: step, value: step }));

/**
 * Viewport classes: the bounds where any `snapUp(viewport × r)` changes, for r in the DPRs a
 * `w=auto` request can apply. Each class is answered by the largest integer in it (browsers send
 * whole CSS pixels), or by its bound when it holds no integer.
 */
export function viewportClasses(steps: HintSteps): { rows: StepRow[]; over: number } {
  const ratios = [...new Set([1, ...steps.dpr])];
  const widths = steps.widths;
  const max = widths[widths.length - 1] ?? 1;
  const bounds = [...new Set(ratios.flatMap((r) => widths.map((w) => w / r)))].filter((b) => b * Math.min(...ratios) <= max).sort((a, b) => a - b);
  const classOf = (v: number) => ratios.map((r) => snapUp(v * r, widths)).join(',');
  const out: StepRow[] = [];
  let lower = 0;
  for (const bound of bounds) {
    const whole = Math.floor(bound);
    const value = whole > lower && classOf(whole) === classOf(bound) ? whole : bound;
    // Merge with the previous row when nothing changes at its bound (equal answers at every r).
    const previous = out[out.length - 1];
    if (previous && classOf(previous.value) === classOf(value)) out[out.length - 1] = { upTo: bound, value };
    else out.push({ upTo: bound, value });
    lower = bound;
  }
  return { rows: out, over: Math.floor(max) + 1 };
}

export function buildEdgeRules(steps: HintSteps, presets: PresetRegistry): EdgeRules {
  const autoPresets = (param: string) => [...presets.values()].filter((p) => p.params.get(param) === 'auto').map((p) => p.name).sort();
  const viewport = viewportClasses(steps);
  return {
    dpr: rows(steps.dpr),
    dprOver: steps.dpr[steps.dpr.length - 1] ?? 1,
    width: rows(steps.widths),
    widthOver: steps.widths[steps.widths.length - 1] ?? 1,
    viewport: viewport.rows,
    viewportOver: viewport.over,
    widthAutoPresets: autoPresets('w'),
    dprAutoPresets: autoPresets('dpr'),
  };
}

/** The first row at least `value`, else `over` (the tables' meaning, for the generators' tests). */
export function lookUp(table: readonly StepRow[], over: number, value: number): number {
  return table.find((row) => value <= row.upTo)?.value ?? over;
}

/**
 * `Accept` → token for the languages with regular expressions only (VCL, nginx): an entry whose
 * type is exactly `image/avif` (resp. webp) and whose first `q=` parameter, if any, is a positive
 * decimal. This is the origin's rule (origin/http/negotiate-format.ts) for every RFC 9110 qvalue;
 * malformed ones that the origin reads as numbers (`q=1e3`, `q=0x1`) count as 0 here, so the
 * token differs from the origin's own only for those, and the origin still receives the edge's token.
 */
export function acceptRegex(type: 'image/avif' | 'image/webp'): string {
  // Case-insensitive: the origin lower-cases Accept first (each target adds its own flag).
  const param = '[^,;]*';
  // An entry: the type, parameters before the first q=, then that q= positive (or no q= at all).
  return `(^|,)${SP}*${type}${SP}*(;(?!${SP}*q=)${param})*(;${SP}*q=${POSITIVE_DECIMAL}(?=[;,]|$)(;${param})*)?(,|$)`;
}

/** Optional white space, spelled without a backslash (nginx and VCL strings treat those differently). */
export const SP = '[ \\t]';
/** A decimal with a non-zero digit and nothing else: the hint and q values the edge reads as positive. */
export const POSITIVE_DECIMAL = `${SP}*(?=[0-9.]*[1-9])[0-9]*[.]?[0-9]*${SP}*`;
