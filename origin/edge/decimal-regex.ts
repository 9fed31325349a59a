/**
 * Regular expressions that compare decimal numbers, for edges without arithmetic (nginx `map`):
 * `atMost(b)` matches exactly the plain decimals (digits, at most one point, leading zeros
 * allowed) whose value is ≤ b. The bound is written with at most `DIGITS` decimals, rounded down.
 */
const DIGITS = 6;

/** Non-negative integers (leading zeros already stripped, may be empty = 0) below `bound`'s digits. */
function integerBelow(bound: string): string {
  const n = bound.length;
  const alternatives: string[] = [];
  if (n > 1) alternatives.push(`[0-9]{0,${n - 1}}`);
  else alternatives.push(''); // the empty integer part of ".5"
  for (let k = 0; k < n; k++) {
    const digit = Number(bound[k]);
    const low = k === 0 && n > 1 ? 1 : 0;
    if (digit <= low) continue;
    alternatives.push(`${bound.slice(0, k)}[${low}-${digit - 1}][0-9]{${n - k - 1}}`);
  }
  return `(?:${alternatives.join('|')})`;
}

/** Fraction digits whose value (0.F) is ≤ 0.B. */
function fractionAtMost(bound: string): string {
  const alternatives: string[] = [];
  for (let k = 0; k < bound.length; k++) {
    const digit = Number(bound[k]);
    if (digit > 0) alternatives.push(`${bound.slice(0, k)}[0-${digit - 1}][0-9]*`);
  }
  for (let j = 0; j <= bound.length; j++) alternatives.push(`${bound.slice(0, j)}0*`);
  return `(?:${alternatives.join('|')})`;
}

export function decimalText(value: number): string {
  const fixed = (Math.floor(value * 10 ** DIGITS) / 10 ** DIGITS).toFixed(DIGITS);
  return fixed.replace(/\.?0+$/, '');
}

/** Matches the whole decimal (no sign, no spaces) when its value is at most `bound` (≥ 1). */
export function atMost(bound: number): string {
  const [whole = '0', fraction = ''] = decimalText(bound).split('.');
  return `^0*(?:${integerBelow(whole)}(?:[.][0-9]*)?|${whole}(?:[.]${fractionAtMost(fraction)})?)$`;
}
