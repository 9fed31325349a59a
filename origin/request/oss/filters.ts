/**
 * OSS `blur`, `sharpen`, `bright` and `contrast`: the per-pixel filters, each a single native
 * parameter. They differ from OSS only in scale where OSS leaves its own undocumented; each
 * reader says how its values map.
 */
import type { OperationReader } from './collected.js';
import { int, readArgs, readValue, signedInt } from './grammar.js';

const BLUR_ARGS = { r: int(1, 50), s: int(1, 50) };

/**
 * OSS: r (radius) and s (standard deviation), both 1-50. libvips derives the kernel from the
 * sigma alone (it spans the sigma until the Gaussian is negligible), so s is the blur and r is
 * only validated.
 */
export const readBlur: OperationReader = (args, c, problems) => {
  const a = readArgs('blur', args, BLUR_ARGS, problems);
  if (!a) return;
  a.get('r'); // validated only
  const s = a.require('s');
  if (s !== undefined) c.blur = s;
};

/**
 * OSS: 50-399, 100 recommended, scale undocumented. Native sharpen is a sigma (0.3-10):
 * value/100 (so 100 → sigma 1, sharp's own default strength), always inside the native range.
 */
export const readSharpen: OperationReader = (args, c, problems) => {
  const n = readValue('sharpen', args, int(50, 399), problems);
  if (n !== undefined) c.sharpen = hundredths(n);
};

/**
 * OSS: -100…100, 0 unchanged: the native bri/con range and direction. OSS does not document its
 * curves, so tones can differ slightly. 0 writes nothing (and so has no place in the order).
 */
function level(op: 'bright' | 'contrast'): OperationReader {
  return (args, c, problems) => {
    const n = readValue(op, args, signedInt(-100, 100), problems);
    if (n !== undefined && n !== 0) c[op] = n;
  };
}

export const readBright = level('bright');
export const readContrast = level('contrast');

/** `n / 100` written with at most two decimals and no trailing zeros (150 → "1.5"), as `spec.ts` accepts it. */
function hundredths(n: number): string {
  const whole = Math.floor(n / 100);
  const fraction = String(n % 100).padStart(2, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}
