/**
 * The second pass: masks, levels and the watermark need the first pass's output size and sRGB
 * pixels, so the first pass is rendered to raw RGBA and each step here takes and returns one raw
 * frame. They run in the order of `FINISH_STEPS`; a step that does not apply returns its input.
 */
import type { OverlayOptions } from 'sharp';
import { sharp } from '../sharp.js';
import type { TransformLimits } from '../limits.js';
import type { TransformPlan } from '../plan.js';
import { watermarkList } from '../watermark.js';
import { watermarkOverlay } from './watermark-overlay.js';

/** sRGB RGBA pixels, 4 channels. */
export interface RawFrame {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

export interface FinishContext {
  readonly finish: NonNullable<TransformPlan['finish']>;
  readonly limits: TransformLimits;
  /** The logo of an image watermark. */
  readonly logo?: Buffer | undefined;
  /** Overlays already rendered for a frame size: the frames of an animation share them. */
  readonly overlays?: Map<string, Promise<OverlayOptions[]>>;
}

export type FinishStep = (frame: RawFrame, context: FinishContext) => Promise<RawFrame>;

/** A raw frame as a sharp input, under the same time limit as every other stage. */
export function loadFrame(frame: RawFrame, limits: TransformLimits) {
  return sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 4 } }).timeout({ seconds: limits.timeoutSeconds });
}

async function render(image: ReturnType<typeof loadFrame>): Promise<RawFrame> {
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** OSS semantics: a circle keeps the centred square of 2r (at most the short side). */
const circleSquare: FinishStep = async (frame, { finish, limits }) => {
  if (finish.mask?.shape !== 'circle') return frame;
  const side = Math.min(2 * finish.mask.radius, frame.width, frame.height);
  const square = { left: Math.floor((frame.width - side) / 2), top: Math.floor((frame.height - side) / 2), width: side, height: side };
  return render(loadFrame(frame, limits).extract(square));
};

const levels: FinishStep = async (frame, { finish, limits }) => {
  if (!finish.levels) return frame;
  const { multiply, add } = finish.levels;
  return render(loadFrame(frame, limits).linear([multiply, multiply, multiply, 1], [add, add, add, 0]));
};

// sharp composites last in a chain, so each composite gets a chain of its own; several
// watermarks are one composite, stamped in their order (a later one over an earlier one).
const watermark: FinishStep = async (frame, { finish, limits, logo, overlays: rendered }) => {
  if (!finish.watermark) return frame;
  const marks = watermarkList(finish.watermark);
  const size = `${frame.width}x${frame.height}`;
  let overlays = rendered?.get(size);
  if (!overlays) {
    overlays = Promise.all(marks.map((mark) => watermarkOverlay(mark, logo, frame.width, frame.height)));
    rendered?.set(size, overlays);
  }
  return render(loadFrame(frame, limits).composite(await overlays));
};

/** Rendered here, so that flattening for JPEG happens after the mask, not before it. */
const mask: FinishStep = async (frame, { finish, limits }) => {
  if (!finish.mask) return frame;
  const { width, height } = frame;
  const radius = Math.min(finish.mask.radius, width / 2, height / 2);
  const shape =
    finish.mask.shape === 'circle'
      ? `<circle cx="${width / 2}" cy="${height / 2}" r="${radius}"/>`
      : `<rect width="${width}" height="${height}" rx="${radius}" ry="${radius}"/>`;
  // White where the image stays, transparent elsewhere.
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" fill="#fff">${shape}</svg>`);
  return render(loadFrame(frame, limits).composite([{ input: svg, blend: 'dest-in' }]));
};

export const FINISH_STEPS: readonly FinishStep[] = [circleSquare, levels, watermark, mask];
