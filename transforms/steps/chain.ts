/**
 * The first pass: steps that add one operation each to the sharp chain that decodes the source.
 * They run in the order of `CHAIN_STEPS`, and call order matters to sharp: `rotate()` before
 * `extract()` makes it rotate first, as the plan's crop coordinates assume, and the mirrors always
 * run before the rotation. A step that does not apply returns the chain unchanged.
 */
import type { Sharp } from 'sharp';
import { sharp } from '../sharp.js';
import type { CanonicalSpec } from '../canonical.js';
import type { Position } from '../params.js';
import type { TransformPlan } from '../plan.js';

export type ChainStep = (image: Sharp, plan: TransformPlan, spec: CanonicalSpec) => Sharp;

const rotate: ChainStep = (image, plan) => (plan.rotate === 0 ? image : image.rotate(plan.rotate));

const mirror: ChainStep = (image, plan) => {
  const flopped = plan.mirrorLeftRight ? image.flop() : image;
  return plan.mirrorTopBottom ? flopped.flip() : flopped;
};

const crop: ChainStep = (image, plan) => (plan.crop ? image.extract(plan.crop) : image);

const resize: ChainStep = (image, plan) => {
  if (!plan.resize) return image;
  const { width, height, fit, position, withoutEnlargement, background } = plan.resize;
  return image.resize({
    ...(width !== undefined && { width }),
    ...(height !== undefined && { height }),
    fit,
    position: toSharpPosition(position),
    withoutEnlargement,
    background,
  });
};

const blur: ChainStep = (image, plan) => (plan.blur === undefined ? image : image.blur(plan.blur));

const sharpen: ChainStep = (image, plan) => (plan.sharpen === undefined ? image : image.sharpen({ sigma: plan.sharpen }));

/** `sat` -100 … 100 → saturation × 0 … 2; per pixel, so animation survives. */
const saturate: ChainStep = (image, _plan, spec) => (spec.sat === undefined ? image : image.modulate({ saturation: 1 + spec.sat / 100 }));

export const CHAIN_STEPS: readonly ChainStep[] = [rotate, mirror, crop, resize, blur, sharpen, saturate];

/** The steps an animation takes frame by frame (libvips would turn the whole strip of frames). */
export const TURN_STEPS: readonly ChainStep[] = [rotate, mirror];

/** Our positions read like CSS (`right-bottom`); sharp wants `right bottom` or a strategy. */
function toSharpPosition(position: Position): string | number {
  if (position === 'entropy') return sharp.strategy.entropy;
  if (position === 'attention') return sharp.strategy.attention;
  return position.replace('-', ' ');
}
