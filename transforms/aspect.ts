/**
 * `maxar`: how elongated an image may be. A long screenshot (长图) keeps its head, a wide panorama
 * its middle, so a feed never shows a sliver. The limit holds both ways: `1:3` allows at most 3×
 * taller than wide and at most 3× wider than tall.
 */
import type { Region } from './geometry.js';

/** `W:H` in lowest terms with `W ≤ H`: the one spelling of a limit (`1:3`, `9:16`, `1:1`). */
export type AspectLimit = `${number}:${number}`;

/** Sides of a limit: 1 … 100 each. */
export const MAX_ASPECT_TERM = 100;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Why `value` is not a limit's one spelling, or undefined when it is. */
export function aspectProblem(value: string): string | undefined {
  const match = /^([1-9]\d{0,2}):([1-9]\d{0,2})$/.exec(value);
  if (!match) return 'must be W:H in whole numbers without leading zeros (e.g. 1:3)';
  const [w, h] = [Number(match[1]), Number(match[2])];
  if (w > MAX_ASPECT_TERM || h > MAX_ASPECT_TERM) return `terms must be at most ${MAX_ASPECT_TERM}`;
  const d = gcd(w, h);
  const [small, large] = [Math.min(w, h) / d, Math.max(w, h) / d];
  if (w > h || d > 1) return `must be written as ${small}:${large} (the limit holds both ways)`;
  return undefined;
}

/**
 * The part of `region` within the limit: the top of a too-tall region, the centre of a too-wide
 * one; a region within the limit is returned unchanged.
 */
export function limitAspect(region: Region, limit: AspectLimit): Region {
  const [short, long] = limit.split(':').map(Number) as [number, number];
  const ratio = long / short;
  if (region.height > region.width * ratio) {
    return { ...region, height: Math.max(1, Math.round(region.width * ratio)) };
  }
  if (region.width > region.height * ratio) {
    const width = Math.max(1, Math.round(region.height * ratio));
    return { ...region, left: region.left + Math.floor((region.width - width) / 2), width };
  }
  return region;
}
