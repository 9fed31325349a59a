/**
 * Animation through the operations libvips cannot apply to a multi-frame image as a whole: a
 * quarter turn (it would turn the whole strip of frames) and the finishing pass (masks, levels,
 * watermarks work on one raw frame). The animation is rendered to one strip of raw RGBA frames,
 * each frame goes through the same steps a still image would, and the strip is loaded back as an
 * animation (sharp's `raw.pageHeight`), keeping the source's frame delays and loop count.
 */
import { performance } from 'node:perf_hooks';
import type { Sharp } from 'sharp';
import { sharp } from './sharp.js';
import { TransformTimeoutError } from './errors.js';
import type { TransformLimits } from './limits.js';
import type { RawFrame } from './steps/finish.js';

/** Frame timing of an animated source, as the GIF and WebP encoders take it. */
export interface AnimationTiming {
  /** Milliseconds per frame. */
  readonly delay?: readonly number[];
  /** 0 loops forever. */
  readonly loop?: number;
}

/** Reads the frame delays and loop count from the header. */
export async function animationTiming(input: Buffer): Promise<AnimationTiming> {
  const { delay, loop } = await sharp(input, { animated: true, limitInputPixels: false }).metadata();
  return { ...(delay && { delay }), ...(loop !== undefined && { loop }) };
}

/** A strip of frames of equal size, stacked top to bottom: RGBA, 4 channels. */
interface FrameStrip {
  readonly data: Buffer;
  readonly width: number;
  readonly frameHeight: number;
  readonly frames: number;
}

async function renderStrip(image: Sharp, frames: number): Promise<FrameStrip> {
  const { data, info } = await image.toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, frameHeight: info.height / frames, frames };
}

function frameAt(strip: FrameStrip, index: number): RawFrame {
  const size = strip.width * strip.frameHeight * 4;
  return { data: strip.data.subarray(index * size, (index + 1) * size), width: strip.width, height: strip.frameHeight };
}

/**
 * The frames back as one animated sharp input, for encoding (every frame has the same size: the
 * steps are the same for each).
 */
function loadStrip(frames: readonly RawFrame[], limits: TransformLimits): Sharp {
  const [first] = frames;
  if (!first || frames.some((f) => f.width !== first.width || f.height !== first.height)) {
    throw new Error('frames of an animation came out in different sizes');
  }
  const data = Buffer.concat(frames.map((f) => f.data));
  return sharp(data, {
    raw: { width: first.width, height: first.height * frames.length, channels: 4, pageHeight: first.height },
  }).timeout({ seconds: limits.timeoutSeconds });
}

/** Runs `step` over every frame in order, checking the transform's clock between frames. */
async function eachFrame(strip: FrameStrip, limits: TransformLimits, startedAt: number, step: (frame: RawFrame) => Promise<RawFrame>) {
  const out: RawFrame[] = [];
  for (let i = 0; i < strip.frames; i++) {
    if (performance.now() - startedAt >= limits.timeoutSeconds * 1000) {
      throw new TransformTimeoutError(`animation took longer than the ${limits.timeoutSeconds}-second transform limit`);
    }
    out.push(await step(frameAt(strip, i)));
  }
  return out;
}

/**
 * Applies a per-frame sharp chain (`turn`: the mirrors and the quarter turn of the chain steps) to
 * every frame of an animated image, returning the turned animation for the rest of the chain.
 */
export async function turnFrames(
  image: Sharp,
  frames: number,
  limits: TransformLimits,
  startedAt: number,
  turn: (frame: Sharp) => Sharp,
): Promise<Sharp> {
  const strip = await renderStrip(image, frames);
  const turned = await eachFrame(strip, limits, startedAt, async (frame) => {
    const loaded = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 4 } });
    const { data, info } = await turn(loaded).raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  });
  // sharp resizes and crops a raw strip as one tall image, whatever its pageHeight; reopened from
  // an uncompressed TIFF (one page per frame, ~5 ms for a sticker) it is an animation again.
  const pages = await loadStrip(turned, limits).tiff({ compression: 'none' }).toBuffer();
  return sharp(pages, { animated: true, limitInputPixels: false }).timeout({ seconds: limits.timeoutSeconds });
}

/** Runs the finishing steps on every frame, in their order, and returns the finished animation. */
export async function finishFrames(
  image: Sharp,
  frames: number,
  limits: TransformLimits,
  startedAt: number,
  steps: readonly ((frame: RawFrame) => Promise<RawFrame>)[],
): Promise<Sharp> {
  const strip = await renderStrip(image, frames);
  const finished = await eachFrame(strip, limits, startedAt, async (frame) => {
    let current = frame;
    for (const step of steps) current = await step(current);
    return current;
  });
  return loadStrip(finished, limits);
}
