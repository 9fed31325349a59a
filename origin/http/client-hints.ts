/**
 * Resolves `w=auto` and `dpr=auto` from client hints (`Sec-CH-Width`, `Sec-CH-Viewport-Width`,
 * `Sec-CH-DPR`, their legacy names, and `Save-Data`), snapped up to a few configured steps so the
 * CDN stores a handful of variants rather than one per device. Returns the DPR to apply and the
 * width in device pixels (the canonical spec applies them, once), with the request headers the
 * result depends on, which the response must name in `Vary`.
 */
import type { RequestedSpec } from '../../transforms/params.js';

export interface HintSteps {
  /** Ascending DPR steps, e.g. 1, 1.5, 2, 3. */
  readonly dpr: readonly number[];
  /** Ascending width breakpoints in device pixels. */
  readonly widths: readonly number[];
}

export type HeaderReader = (name: string) => string | undefined;

export interface Hints {
  /** The DPR to apply: the request's own, or the snapped hint for `dpr=auto`. */
  readonly dpr: number;
  /** `w=auto` resolved, in device pixels (so it must not be multiplied by `dpr` again). */
  readonly deviceWidth?: number;
  readonly saveData?: true;
  /** Request headers the result depends on, for `Vary`; empty when no hint was asked for. */
  readonly vary: readonly string[];
}

/** CSS width assumed for `w=auto` when the client sends no width hint and the preset names none. */
export const AUTO_WIDTH_FALLBACK = 640;

const DPR_HINTS = ['Sec-CH-DPR', 'DPR'];
const WIDTH_HINTS = ['Sec-CH-Width', 'Width', 'Sec-CH-Viewport-Width', 'Viewport-Width'];

/** The smallest step at least `value` (never serve fewer pixels than asked), else the largest. */
export function snapUp(value: number, steps: readonly number[]): number {
  return steps.find((step) => step >= value) ?? steps[steps.length - 1] ?? value;
}

function positive(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.trim());
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export function resolveHints(requested: RequestedSpec, header: HeaderReader, steps: HintSteps, fallbackWidth = AUTO_WIDTH_FALLBACK): Hints {
  const { w, dpr = 1 } = requested;
  if (w !== 'auto' && dpr !== 'auto') return { dpr, vary: [] };

  const vary: string[] = [];
  let ratio = dpr === 'auto' ? 1 : dpr;
  if (dpr === 'auto') {
    ratio = snapUp(positive(header('sec-ch-dpr') ?? header('dpr')) ?? 1, steps.dpr);
    vary.push(...DPR_HINTS);
  }
  let deviceWidth: number | undefined;
  if (w === 'auto') {
    const hinted = positive(header('sec-ch-width') ?? header('width'));
    const viewport = positive(header('sec-ch-viewport-width') ?? header('viewport-width'));
    deviceWidth = snapUp(hinted ?? (viewport ?? fallbackWidth) * ratio, steps.widths);
    vary.push(...WIDTH_HINTS);
  }
  const saveData = header('save-data')?.trim().toLowerCase() === 'on';
  vary.push('Save-Data');
  return { dpr: ratio, ...(deviceWidth !== undefined && { deviceWidth }), ...(saveData && { saveData: true }), vary };
}
