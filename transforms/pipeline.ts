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
import { encoderOptions } from './formats.js';
import type { TransformLimits } from './limits.js';
import type { OutputFormat } from './params.js';
import { planTransform, type TransformPlan } from './plan.js';
import { decodeSideFor, decodeSource, decodedAsSource, openDecoded, type DecodeReuse, type DecodedSource } from './decoded-source.js';
import { resizedSize } from './output-size.js';
import { probeSource, type SourceInfo } from './probe.js';
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

/** What the pipeline may use besides the source: the logo of an image watermark, a shared decode of the source. */
export interface PipelineAssets {
  readonly watermarkLogo?: Buffer;
  readonly decodes?: DecodeReuse;
}

export async function runPipeline(
  input: Buffer,
  spec: CanonicalSpec,
  limits: TransformLimits,
  assets: PipelineAssets = {},
): Promise<TransformResult> {
  const stage = stageRunner(limits);
  const source = await probeSource(input, limits);
  const planned = planTransform(spec, source, limits);
  const derived = await stage(() => deriveFromDecode(input, spec, source, planned, limits, assets.decodes));
  const plan = derived?.plan ?? planned;
  const opened = derived ? openDecoded(derived.decoded, limits) : openSource(input, plan, limits);
  const decoded = await stage(() => CHAIN_STEPS.reduce((image, step) => step(image, plan, spec), opened));
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
