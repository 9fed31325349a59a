/**
 * Resolves `w=auto` and `dpr=auto` from client hints (`Sec-CH-Width`, `Sec-CH-Viewport-Width`,
 * `Sec-CH-DPR`, their legacy names, and `Save-Data`), snapped up to a few configured steps so the
 * CDN stores a handful of variants rather than one per device. Returns the resolved spec and the
 * request headers the result depends on, which the response must name in `Vary`.
 */
import type { RequestedSpec, TransformSpec } from '../../transforms/spec.js';

export interface HintSteps {
  /** Ascending DPR steps, e.g. 1, 1.5, 2, 3. */
  readonly dpr: readonly number[];
  /** Ascending width breakpoints in device pixels. */
  readonly widths: readonly number[];
}

export type HeaderReader = (name: string) => string | undefined;

export interface ResolvedHints {
  readonly spec: TransformSpec;
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

/**
 * With hints in play the spec comes back in device pixels with `dpr` 1, because a `Width` hint is
 * already in device pixels and must not be multiplied again.
 */
export function resolveClientHints(
  requested: RequestedSpec,
  header: HeaderReader,
  steps: HintSteps,
  fallbackWidth = AUTO_WIDTH_FALLBACK,
): ResolvedHints {
  const { width, dpr, ...rest } = requested;
  if (width !== 'auto' && dpr !== 'auto') return { spec: { ...rest, ...(width !== undefined && { width }), dpr }, vary: [] };

  const vary: string[] = [];
  let ratio = dpr === 'auto' ? 1 : dpr;
  if (dpr === 'auto') {
    ratio = snapUp(positive(header('sec-ch-dpr') ?? header('dpr')) ?? 1, steps.dpr);
    vary.push(...DPR_HINTS);
  }
  let deviceWidth: number | undefined;
  if (width === 'auto') {
    const hinted = positive(header('sec-ch-width') ?? header('width'));
    const viewport = positive(header('sec-ch-viewport-width') ?? header('viewport-width'));
    deviceWidth = snapUp(hinted ?? (viewport ?? fallbackWidth) * ratio, steps.widths);
    vary.push(...WIDTH_HINTS);
  } else if (width !== undefined) {
    deviceWidth = width * ratio;
  }
  const saveData = header('save-data')?.trim().toLowerCase() === 'on';
  vary.push('Save-Data');
  return {
    spec: {
      ...rest,
      ...(deviceWidth !== undefined && { width: Math.round(deviceWidth) }),
      ...(rest.height !== undefined && { height: Math.round(rest.height * ratio) }),
      dpr: 1,
      ...(saveData && { saveData: true }),
    },
    vary,
  };
}
