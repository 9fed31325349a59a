/**
 * The sharp pipeline: a pure async function from (source bytes, canonical spec, limits) to an
 * encoded variant, run as a list of steps: probe the header, plan, decode through the chain steps
 * (`steps/chain.ts`), finish on raw pixels when the plan needs it (`steps/finish.ts`), encode.
 * Metadata is always stripped and colour converted to sRGB (sharp's default when
 * `keepMetadata`/`withMetadata` is not used).
 *
 * Failures are classified by stage and by the clock, never by libvips' message text: building a
 * chain is our bug (InternalError); a rejection once the time budget is spent is a timeout
 * (TransformTimeoutError: retried, never cached, since a starved CPU causes it as often as the
 * image does); any other rejection from libvips while decoding, finishing or encoding is the
 * source's fault (UnprocessableImageError).
 */
import { performance } from 'node:perf_hooks';
import type { Sharp } from 'sharp';
import { sharp } from './sharp.js';
import type { CanonicalSpec } from './canonical.js';
import { InternalError, OriginError, TransformTimeoutError, UnprocessableImageError } from './errors.js';
import { encoderOptions, isLossy, qualityFor, type LossyFormat } from './formats.js';
import type { TransformLimits } from './limits.js';
import type { OutputFormat } from './params.js';
import { planTransform, type TransformPlan } from './plan.js';
import { decodeSideFor, decodeSource, decodedAsSource, openDecoded, type DecodeReuse, type DecodedSource } from './decoded-source.js';
import { peakMemoryBytes } from './memory-estimate.js';
import { resizedSize } from './output-size.js';
import { probeSource, type SourceInfo } from './probe.js';
import { heicToSharpInput } from './heic/heic-input.js';
import { builtInP3, taggedPng } from './icc-png.js';
import { animationTiming, finishFrames, turnFrames, type AnimationTiming } from './animated-frames.js';
import { CHAIN_STEPS, TURN_STEPS } from './steps/chain.js';
import { FINISH_STEPS, loadFrame, type FinishContext, type RawFrame } from './steps/finish.js';

export interface TransformResult {
  readonly data: Buffer;
  readonly format: OutputFormat;
  /** Output size; for animations, the size of one frame. */
  readonly width: number;
  readonly height: number;
  readonly pages: number;
}

/** What the pipeline may use besides the source: the logo of an image watermark, a shared decode of the source. */
export interface PipelineAssets {
  readonly watermarkLogo?: Buffer;
  readonly decodes?: DecodeReuse;
  /**
   * What quality this source needs in `format` to meet `target` (autoquality), or undefined to
   * keep the calibrated guess. Asked only when the request fixed no quality.
   */
  readonly qualityFor?: (format: LossyFormat, target: number) => Promise<number | undefined>;
}

/**
 * The transform's estimated peak memory (memory-estimate.ts), from the source's header alone: what
 * the load layer admits it by. The header probe is remembered for the buffer, so the transform
 * that follows does not read it again.
 */
export async function estimateMemory(original: Buffer, spec: CanonicalSpec, limits: TransformLimits): Promise<number> {
  const source = await probeSource(original, limits);
  return peakMemoryBytes(planTransform(spec, source, limits), source);
}

export async function runPipeline(
  original: Buffer,
  spec: CanonicalSpec,
  limits: TransformLimits,
  assets: PipelineAssets = {},
): Promise<TransformResult> {
  const started = performance.now();
  const stage = stageRunner(limits, started);
  // HEIC: the header probe caps its pixels, then libheif decodes it into an input sharp reads.
  const header = await probeSource(original, limits);
  const input = header.format === 'heic' ? await stage(() => heicToSharpInput(original, limits)) : original;
  const source = input === original ? header : await probeSource(input, limits);
  const planned = planTransform(spec, source, limits);
  const derived = await stage(() => deriveFromDecode(input, spec, source, planned, limits, assets.decodes));
  const plan = await withImageQuality(derived?.plan ?? planned, spec, assets);
  const frames = plan.animated ? source.pages : 1;
  // An animation turned a quarter or finished frame by frame is re-loaded from raw frames, which
  // carry no timing: the encoder is given the source's.
  const timing = frames > 1 && (plan.rotate % 180 !== 0 || plan.finish) ? await stage(() => animationTiming(input)) : undefined;
  const turned =
    frames > 1 && plan.rotate % 180 !== 0
      ? await stage(() => turnFrames(openSource(input, plan, limits), frames, limits, started, (frame) => TURN_STEPS.reduce((image, step) => step(image, plan, spec), frame)))
      : undefined;
  const tilted = plan.tilt ? await stage(() => tilt(openSource(input, plan, limits), plan, limits)) : undefined;
  const chainPlan: TransformPlan = turned
    ? { ...plan, rotate: 0, mirrorLeftRight: false, mirrorTopBottom: false }
    : tilted ? withoutCrop(plan) : plan;
  const opened = turned ?? tilted ?? (derived ? openDecoded(derived.decoded, limits) : openSource(input, plan, limits));
  const decoded = await stage(() => CHAIN_STEPS.reduce((image, step) => step(image, chainPlan, spec), opened));
  const finishing = plan.finish;
  const context: FinishContext | undefined = finishing && { finish: finishing, limits, logo: assets.watermarkLogo, overlays: new Map() };
  const finished = context
    ? await stage(() => (frames > 1 ? finishAnimation(decoded, frames, context, started, plan.opaque === true) : finish(decoded, context, plan.opaque === true, plan.output.p3 === true)))
    : decoded;
  const { data, info } = await stage(() => encode(finished, plan, timing).toBuffer({ resolveWithObject: true }));
  if (data.byteLength > limits.maxOutputBytes) {
    throw new UnprocessableImageError('OUTPUT_TOO_LARGE', `output is larger than ${limits.maxOutputBytes} bytes`);
  }
  return { data, format: plan.output.format, width: info.width, height: info.pageHeight ?? info.height, pages: info.pages ?? 1 };
}

/** The plan with the quality this image needs for the target, when the pipeline can ask for it. */
async function withImageQuality(plan: TransformPlan, spec: CanonicalSpec, assets: PipelineAssets): Promise<TransformPlan> {
  const { format, target } = plan.output;
  // Under pressure (economy) nothing extra is measured: the calibrated guess serves.
  if (target === undefined || spec.aq !== true || !assets.qualityFor || !isLossy(format) || plan.output.economy) return plan;
  const needed = await assets.qualityFor(format, target);
  if (needed === undefined) return plan;
  const quality = qualityFor(format, spec, { [format]: needed });
  return quality === undefined ? plan : { ...plan, output: { ...plan.output, quality } };
}

/** Runs the stages of one image under one clock, classifying what fails. */
function stageRunner(limits: TransformLimits, started: number) {
  return async function stage<T>(run: () => T | Promise<T>): Promise<T> {
    let pending: T | Promise<T>;
    try {
      pending = run();
    } catch (error) {
      throw new InternalError('could not build the sharp pipeline', { cause: error });
    }
    try {
      return await pending;
    } catch (error) {
      if (error instanceof OriginError) throw error;
      if (performance.now() - started >= limits.timeoutSeconds * 1000) {
        throw new TransformTimeoutError(`image took longer than the ${limits.timeoutSeconds}-second transform limit`, { cause: error });
      }
      // libvips reports corrupt or truncated pixel data (and an encoder refusing an image's
      // dimensions) only here, during the fused decode+encode: the source is at fault.
      throw new UnprocessableImageError('UNREADABLE_IMAGE', 'source image cannot be decoded', error);
    }
  };
}

/**
 * A shared decode of the source to start from instead of the source, with the plan made against
 * it, when the load layer has one worth using and the variant comes out the same size from it.
 */
async function deriveFromDecode(
  input: Buffer,
  spec: CanonicalSpec,
  source: SourceInfo,
  plan: TransformPlan,
  limits: TransformLimits,
  decodes: DecodeReuse | undefined,
): Promise<{ decoded: DecodedSource; plan: TransformPlan } | undefined> {
  const side = decodes && decodeSideFor(spec, source, plan);
  const pending = side === undefined ? undefined : decodes?.decodeAt(side, (longSide) => decodeSource(input, longSide, limits));
  if (!pending) return undefined;
  const decoded = await pending;
  const derived = planTransform(spec, decodedAsSource(source, decoded), limits);
  const [want, got] = [resizedSize(source, plan.resize), resizedSize(decoded, derived.resize)];
  return want.width === got.width && want.height === got.height && derived.output.format === plan.output.format ? { decoded, plan: derived } : undefined;
}

function openSource(input: Buffer, plan: TransformPlan, limits: TransformLimits): Sharp {
  const opened = sharp(input, {
    autoOrient: true,
    animated: plan.animated,
    // libvips also checks the pixel count itself; a raised SVG density is already within it.
    limitInputPixels: plan.density === undefined ? limits.maxInputPixels : false,
    // Refuse damaged pixel data instead of serving a half-grey image that a CDN would keep for a year.
    failOn: 'error',
    ...(plan.density !== undefined && { density: plan.density }),
  }).timeout({ seconds: limits.timeoutSeconds });
  return plan.output.p3 ? inP3(opened) : opened;
}

/**
 * A rotation by any angle but a quarter turn, in a pass of its own: sharp applies such a turn
 * after the resize, and the plan wants it after the crop and before the mirrors and the resize.
 * The cropped, turned image (the canvas filled with the plan's background) goes on as an
 * uncompressed PNG, 16-bit and in P3 for a P3 output.
 */
async function tilt(image: Sharp, plan: TransformPlan, limits: TransformLimits): Promise<Sharp> {
  const { angle, background } = plan.tilt!;
  const cropped = plan.crop ? image.extract(plan.crop) : image;
  // A transparent fill needs an alpha channel to land in.
  const turned = (background.alpha < 1 ? cropped.ensureAlpha() : cropped).rotate(angle, { background });
  const png = await (plan.output.p3 ? turned.withIccProfile('p3') : turned).png({ compressionLevel: 0, adaptiveFiltering: false }).toBuffer();
  const reopened = sharp(png, { limitInputPixels: false, failOn: 'error' }).timeout({ seconds: limits.timeoutSeconds });
  return plan.output.p3 ? inP3(reopened) : reopened;
}

function withoutCrop(plan: TransformPlan): TransformPlan {
  const { crop: _crop, ...rest } = plan;
  return rest;
}

/**
 * sharp converts 8-bit sources to sRGB as it decodes them (clipping what lies outside), and 16-bit
 * ones to Display P3: a P3 output works in 16 bits, so the wide colours survive until the encoder
 * converts to the attached P3 profile (an identity) and writes 8 bits.
 */
function inP3(image: Sharp): Sharp {
  return image.pipelineColourspace('rgb16');
}

/**
 * Works on RGBA; an image nothing made transparent leaves with three channels, as it came. The
 * pixels are sRGB, or Display P3 for a P3 output: then they go on as a PNG tagged P3, so that the
 * encoder's P3 conversion is the identity instead of reading them as sRGB.
 */
async function finish(first: Sharp, context: FinishContext, opaque: boolean, p3: boolean): Promise<Sharp> {
  const working = p3 ? first.withIccProfile('p3', { attach: false }).toColourspace('srgb') : first.toColourspace('srgb');
  const { data, info } = await working.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let frame: RawFrame = { data, width: info.width, height: info.height };
  for (const step of FINISH_STEPS) frame = await step(frame, context);
  const loaded = loadFrame(frame, context.limits);
  const finished = opaque ? loaded.removeAlpha() : loaded;
  if (!p3) return finished;
  return inP3(sharp(await taggedPng(finished, await builtInP3()), { limitInputPixels: false }).timeout({ seconds: context.limits.timeoutSeconds }));
}

/** The finishing steps frame by frame; the frames share the rendered watermark overlays. */
async function finishAnimation(first: Sharp, frames: number, context: FinishContext, started: number, opaque: boolean): Promise<Sharp> {
  const steps = FINISH_STEPS.map((step) => (frame: RawFrame) => step(frame, context));
  const loaded = await finishFrames(first, frames, context.limits, started, steps);
  return opaque ? loaded.removeAlpha() : loaded;
}

/** sharp 0.35.5 has `keepGainMap()` (experimental) but its type declarations omit it. */
type SharpWithGainMaps = Sharp & { keepGainMap(): Sharp };

function encode(image: Sharp, plan: TransformPlan, timing: AnimationTiming | undefined): Sharp {
  const flattened = plan.flatten ? image.flatten({ background: plan.flatten }) : image;
  const encoder = encoderOptions(plan.output.format, plan.output.quality, plan.output.economy, plan.output.encoders);
  const frameTiming = timing && { ...(timing.delay && { delay: [...timing.delay] }), ...(timing.loop !== undefined && { loop: timing.loop }) };
  const coloured = plan.output.p3 ? flattened.withIccProfile('p3') : flattened;
  const mapped = plan.output.gainMap ? (coloured as SharpWithGainMaps).keepGainMap() : coloured;
  return mapped.toFormat(encoder.format, { ...encoder.options, ...frameTiming });
}
