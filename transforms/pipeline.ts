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
import sharp, { type Sharp } from 'sharp';
import type { CanonicalSpec } from './canonical.js';
import { InternalError, OriginError, TransformTimeoutError, UnprocessableImageError } from './errors.js';
import { encoderOptions, isLossy, qualityFor, type LossyFormat } from './formats.js';
import type { TransformLimits } from './limits.js';
import type { OutputFormat } from './params.js';
import { planTransform, type TransformPlan } from './plan.js';
import { probeSource } from './probe.js';
import { CHAIN_STEPS } from './steps/chain.js';
import { FINISH_STEPS, loadFrame, type FinishContext, type RawFrame } from './steps/finish.js';

export interface TransformResult {
  readonly data: Buffer;
  readonly format: OutputFormat;
  /** Output size; for animations, the size of one frame. */
  readonly width: number;
  readonly height: number;
  readonly pages: number;
}

/** Bytes the pipeline needs besides the source: the logo of an image watermark. */
export interface PipelineAssets {
  readonly watermarkLogo?: Buffer;
  /**
   * What quality this source needs in `format` to meet `target` (autoquality), or undefined to
   * keep the calibrated guess. Asked only when the request fixed no quality.
   */
  readonly qualityFor?: (format: LossyFormat, target: number) => Promise<number | undefined>;
}

export async function runPipeline(
  input: Buffer,
  spec: CanonicalSpec,
  limits: TransformLimits,
  assets: PipelineAssets = {},
): Promise<TransformResult> {
  const stage = stageRunner(limits);
  const source = await probeSource(input, limits);
  const plan = await withImageQuality(planTransform(spec, source, limits), spec, assets);
  const decoded = await stage(() => CHAIN_STEPS.reduce((image, step) => step(image, plan, spec), openSource(input, plan, limits)));
  const finishing = plan.finish;
  const finished = finishing
    ? await stage(() => finish(decoded, { finish: finishing, limits, logo: assets.watermarkLogo }, plan.opaque === true))
    : decoded;
  const { data, info } = await stage(() => encode(finished, plan).toBuffer({ resolveWithObject: true }));
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
function stageRunner(limits: TransformLimits) {
  const started = performance.now();
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

function openSource(input: Buffer, plan: TransformPlan, limits: TransformLimits): Sharp {
  return sharp(input, {
    autoOrient: true,
    animated: plan.animated,
    // libvips also checks the pixel count itself; a raised SVG density is already within it.
    limitInputPixels: plan.density === undefined ? limits.maxInputPixels : false,
    // Refuse damaged pixel data instead of serving a half-grey image that a CDN would keep for a year.
    failOn: 'error',
    ...(plan.density !== undefined && { density: plan.density }),
  }).timeout({ seconds: limits.timeoutSeconds });
}

/** Works on RGBA; an image nothing made transparent leaves with three channels, as it came. */
async function finish(first: Sharp, context: FinishContext, opaque: boolean): Promise<Sharp> {
  const { data, info } = await first.toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let frame: RawFrame = { data, width: info.width, height: info.height };
  for (const step of FINISH_STEPS) frame = await step(frame, context);
  const loaded = loadFrame(frame, context.limits);
  return opaque ? loaded.removeAlpha() : loaded;
}

function encode(image: Sharp, plan: TransformPlan): Sharp {
  const flattened = plan.flatten ? image.flatten({ background: plan.flatten }) : image;
  const encoder = encoderOptions(plan.output.format, plan.output.quality, plan.output.economy);
  return flattened.toFormat(encoder.format, encoder.options);
}
