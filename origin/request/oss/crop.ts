/**
 * OSS `crop` and `indexcrop`: the two ways OSS cuts a region out of the source, both the native
 * pipeline's first stage (and refused together, see `order.ts`). Coordinates share the native
 * bound `MAX_CROP_COORDINATE`, which is also how a crop "to the edge" is written.
 */
import { MAX_CROP_COORDINATE, MAX_ICROP_INDEX } from '../../../transforms/rules.js';
import type { Collected } from './collected.js';
import { GRAVITY, int, readArgs, type Problems } from './grammar.js';

const OFFSET = int(0, MAX_CROP_COORDINATE);
const SIZE = int(1, MAX_CROP_COORDINATE);
const CROP_ARGS = { x: OFFSET, y: OFFSET, w: SIZE, h: SIZE, g: GRAVITY };
const INDEXCROP_ARGS = { x: SIZE, y: SIZE, i: int(0, MAX_ICROP_INDEX) };

/**
 * crop: x, y (default 0), w, h (default "the maximum": to the image's edge), g (origin anchor,
 * default nw) → crop=x,y,w,h (+cropg). Native offsets are measured inward from the anchor like
 * OSS's. A missing w (h) is written as the native maximum, which the pipeline clamps to the
 * image's edge: exact when the anchor is on the left (top) edge, so nw/west/sw (nw/north/ne);
 * for other anchors OSS's "maximum" is not documented and a w (h) is required. A start outside
 * the image is a 400 from the pipeline, as OSS's BadRequest.
 */
export function readCrop(args: readonly string[], c: Collected, problems: Problems): void {
  const a = readArgs('crop', args, CROP_ARGS, problems);
  if (!a) return;
  const x = a.get('x', 0);
  const y = a.get('y', 0);
  const gravity = a.get('g', 'nw');
  let width = a.get('w');
  let height = a.get('h');
  if (gravity === undefined || x === undefined || y === undefined || (a.has('w') && width === undefined) || (a.has('h') && height === undefined)) return;
  const required = (key: 'w' | 'h') => void problems.add(a.param(key), `is required with g_${a.written('g')}`);
  if (width === undefined) {
    if (gravity.endsWith('w')) width = MAX_CROP_COORDINATE;
    else return required('w');
  }
  if (height === undefined) {
    if (gravity.startsWith('n')) height = MAX_CROP_COORDINATE;
    else return required('h');
  }
  c.crop = { x, y, width, height, gravity };
}

/**
 * indexcrop: x (slice width) or y (slice height), i (index, default 0) → icrop=axis,size,index.
 * OSS: with both x and y, y wins (documented), and an index past the end returns the whole
 * image (the native pipeline does the same).
 */
export function readIndexCrop(args: readonly string[], c: Collected, problems: Problems): void {
  const a = readArgs('indexcrop', args, INDEXCROP_ARGS, problems);
  if (!a?.requireAny(['x', 'y'])) return;
  const x = a.get('x');
  const y = a.get('y');
  const index = a.get('i', 0);
  if (index === undefined) return;
  if (y !== undefined) c.indexCrop = { axis: 'y', size: y, index };
  else if (x !== undefined && !a.has('y')) c.indexCrop = { axis: 'x', size: x, index };
}
