/**
 * Order. OSS runs operations in URL order; the native pipeline has a fixed order. An OSS URL is
 * accepted when its order gives the same image as the native order: written in native order it
 * does, written the other way round only when the two operations commute. This module holds the
 * native stages, the commutation rules, the combinations no order can reproduce, and the one
 * rewrite a commutation needs (a quarter turn after a resize turns the resize box).
 */
import type { Collected, OpName } from './collected.js';
import type { Problems } from './grammar.js';

/** One operation of the URL and its position there. */
export interface Op {
  readonly name: OpName;
  readonly index: number;
}

/**
 * Where each operation runs in the native pipeline (transforms/pipeline.ts): crop/indexcrop →
 * rotate → resize → blur → sharpen → (circle: centred square) → contrast+brightness (one linear
 * step: contrast first) → watermark → (circle/rounded-corners: alpha mask) → encode.
 * auto-orient, quality, format and interlace have no stage: OSS applies EXIF orientation before
 * everything (its docs: "rotate first, then resize") and the encoder settings at the end, wherever
 * they are written, and so does the native pipeline.
 */
const STAGES: Readonly<Partial<Record<OpName, number>>> = {
  crop: 1,
  indexcrop: 1,
  rotate: 2,
  resize: 3,
  blur: 4,
  sharpen: 5,
  circle: 6,
  contrast: 7,
  bright: 8,
  watermark: 9,
  'rounded-corners': 10,
};

/** Per-pixel operations that do not touch alpha: they commute with the circle and rounded-corner masks. */
const LEVELS: ReadonlySet<OpName> = new Set(['bright', 'contrast']);
const MASKS: ReadonlySet<OpName> = new Set(['circle', 'rounded-corners']);
/**
 * Operations a quarter (or half) turn commutes with exactly, so an OSS `rotate` written after them
 * is the native `rot` before them: isotropic filters, per-pixel levels, a symmetric corner mask,
 * and a resize without centring (the w/h box is swapped). Not the circle (its centred square is
 * rounded toward the top-left, so turning afterwards can move it by a pixel) nor the watermark
 * (OSS would turn the mark with the image).
 */
const TURN_COMMUTES: ReadonlySet<OpName> = new Set(['resize', 'blur', 'sharpen', 'bright', 'contrast', 'rounded-corners']);

/** For each pair of operations, OSS's order must give the image the native order gives. */
export function orderProblems(ops: readonly Op[], c: Collected, problems: Problems): void {
  // A no-op (rotate,0, bright,0, contrast,0) has no place in the pipeline and so no order.
  const noOp = (o: Op) => (o.name === 'rotate' && !c.rotate) || (o.name === 'bright' && c.bright === undefined) || (o.name === 'contrast' && c.contrast === undefined);
  const staged = ops.flatMap((o) => {
    const stage = STAGES[o.name];
    return stage === undefined || noOp(o) ? [] : [{ name: o.name, stage }];
  });
  staged.forEach((earlier, i) => {
    for (const later of staged.slice(i + 1)) {
      const [first, second] = [earlier.name, later.name];
      if (earlier.stage <= later.stage) continue;
      // Levels never touch alpha, masks touch only alpha: either order gives the same pixels.
      if ((LEVELS.has(first) && MASKS.has(second)) || (MASKS.has(first) && LEVELS.has(second))) continue;
      if (second === 'rotate' && (c.rotate ?? 0) % 90 !== 0) {
        problems.add('rotate', `by ${c.rotate} degrees after ${first} is not supported: only quarter turns commute with it (write rotate first)`);
        continue;
      }
      if (second === 'rotate' && TURN_COMMUTES.has(first)) {
        if (first === 'resize' && c.resize?.centres) {
          problems.add('rotate', 'after resize with m_fill or m_pad is not supported: the centring can land a pixel apart (write rotate first)');
        }
        continue;
      }
      problems.add(second, `after ${first} is not supported: the native pipeline runs ${second} before ${first}, and here the order changes the image`);
    }
  });
}

/** Combinations the native pipeline refuses or cannot reproduce whatever the order. */
export function combinationProblems(c: Collected, problems: Problems): void {
  if (c.crop && c.indexCrop) problems.add('indexcrop', 'cannot be combined with crop');
  if (c.circle !== undefined && c.round !== undefined) problems.add('rounded-corners', 'cannot be combined with circle');
  // Natively the watermark is placed on the circle's square and then masked with it; OSS either
  // masks the mark on the full image first or leaves a later mark unmasked.
  if (c.circle !== undefined && c.watermarks) problems.add('watermark', 'cannot be combined with circle');
  // JPEG output flattens the transparent corners onto bg, which m_pad sets to its colour; OSS
  // fills them with white.
  if ((c.circle !== undefined || c.round !== undefined) && c.format === 'jpeg' && c.resize?.background && c.resize.background !== 'ffffff') {
    problems.add('resize.color', 'a non-white pad colour with circle or rounded-corners and JPEG output is not supported');
  }
}

/**
 * A quarter turn written after the resize: OSS resizes, then turns; natively the turn comes
 * first, so the box is turned too (w and h swap). Exact for resizes without centring (checked in
 * `orderProblems`): scale factors and size rounding are symmetric in the two axes, so the output
 * size is the same and the pixels differ only by resampling rounding (the test measures a mean
 * difference below 1/255 against resize-then-rotate done one step at a time).
 */
export function turnResizeBox(ops: readonly Op[], c: Collected): void {
  const rotateAt = ops.find((o) => o.name === 'rotate')?.index;
  const resizeAt = ops.find((o) => o.name === 'resize')?.index;
  const resize = c.resize;
  if (!resize || rotateAt === undefined || resizeAt === undefined || rotateAt < resizeAt) return;
  if (c.rotate !== 90 && c.rotate !== 270) return;
  const { width, height } = resize;
  delete resize.width;
  delete resize.height;
  if (height !== undefined) resize.width = height;
  if (width !== undefined) resize.height = width;
}
