/**
 * OSS `circle` and `rounded-corners`: the two alpha masks, one argument each (the radius r,
 * 1-4096). OSS caps r at half the short side (circle: a radius above it becomes it), and so does
 * the native pipeline, so the radius is written as given.
 */
import type { Collected, OperationReader } from './collected.js';
import { int, readArgs } from './grammar.js';

const RADIUS_ARGS = { r: int(1, 4096) };

function mask(op: 'circle' | 'rounded-corners', field: keyof Pick<Collected, 'circle' | 'round'>): OperationReader {
  return (args, c, problems) => {
    const r = readArgs(op, args, RADIUS_ARGS, problems)?.require('r');
    if (r !== undefined) c[field] = r;
  };
}

export const readCircle = mask('circle', 'circle');
export const readRoundedCorners = mask('rounded-corners', 'round');
