/**
 * The sharp pipeline: a pure async function from (source bytes, canonical spec, limits) to an
 * encoded variant. The only module that constructs sharp. Work runs in a fixed order (orient,
 * crop, rotate, mirror, resize, blur, sharpen, flatten, encode); metadata is always stripped and
 * colour converted to sRGB (sharp's default when `keepMetadata`/`withMetadata` is not used).
 *
 * Errors are classified by stage: a header that cannot be read, or pixels that fail to decode,
 * are the source's fault (422); a failure while building the pipeline is ours (500).
 */
import sharp, { type Sharp } from 'sharp';
import type { CanonicalSpec } from './canonical.js';
import { OriginError, InternalError, UnprocessableImageError } from './errors.js';
import { encoderOptions } from './formats.js';
import type { TransformLimits } from './limits.js';
import { planTransform, type SourceInfo, type TransformPlan } from './plan.js';
import { watermarkOverlay } from './watermark.js';
import { sniffFormat, type InputFormat } from './sniff-format.js';
import type { OutputFormat, Position } from './spec.js';

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
}

export async function runPipeline(
  input: Buffer,
  spec: CanonicalSpec,
  limits: TransformLimits,
  assets: PipelineAssets = {},
): Promise<TransformResult> {
  const format = sniffFormat(input, limits);
  const source = await probe(input, format, limits);
  const plan = planTransform(spec, source, limits);
  const decoded = await settle(() => buildPipeline(input, plan, limits));
  const image = plan.finish ? await settle(() => finishPipeline(decoded, plan, assets, limits)) : decoded;
  const { data, info } = await settle(() => encode(image, plan).toBuffer({ resolveWithObject: true }));
  if (data.byteLength > limits.maxOutputBytes) {
    throw new UnprocessableImageError('OUTPUT_TOO_LARGE', `output is larger than ${limits.maxOutputBytes} bytes`);
  }
  const pages = info.pages ?? 1;
  return { data, format: plan.output.format, width: info.width, height: info.pageHeight ?? info.height, pages };
}

/**
 * Runs one stage: an exception thrown while building a sharp chain is our bug (500); a rejection
 * from libvips while it decodes is the source's fault (422).
 */
async function settle<T>(stage: () => T | Promise<T>): Promise<T> {
  let pending: T | Promise<T>;
  try {
    pending = stage();
  } catch (error) {
    throw new InternalError('could not build the sharp pipeline', error);
  }
  try {
    return await pending;
  } catch (error) {
    throw toDecodeError(error);
  }
}

/** Reads the header only, and refuses pixel bombs before a single pixel is decoded. */
async function probe(input: Buffer, format: InputFormat, limits: TransformLimits): Promise<SourceInfo> {
  const metadata = await sharp(input, { limitInputPixels: false }).metadata().catch((error: unknown) => {
    throw new UnprocessableImageError('UNREADABLE_IMAGE', 'source image header cannot be read', error);
  });
  const { width, height } = metadata.autoOrient;
  if (!(width > 0 && height > 0)) {
    throw new UnprocessableImageError('UNREADABLE_IMAGE', 'source image has no dimensions');
  }
  if (width * height > limits.maxInputPixels) {
    throw new UnprocessableImageError(
      'IMAGE_TOO_LARGE',
      `source is ${width}x${height}, above the ${limits.maxInputPixels}-pixel limit`,
    );
  }
  return { format, width, height, hasAlpha: metadata.hasAlpha, pages: metadata.pages ?? 1 };
}

function buildPipeline(input: Buffer, plan: TransformPlan, limits: TransformLimits): Sharp {
  let image = sharp(input, {
    autoOrient: true,
    animated: plan.animated,
    // libvips also checks the pixel count itself; a raised SVG density is already within it.
    limitInputPixels: plan.density === undefined ? limits.maxInputPixels : false,
    // Refuse damaged pixel data instead of serving a half-grey image that a CDN would keep for a year.
    failOn: 'error',
    ...(plan.density !== undefined && { density: plan.density }),
  }).timeout({ seconds: limits.timeoutSeconds });

  // Call order matters to sharp: rotate() before extract() makes it rotate first, as the plan's
  // crop coordinates assume. Mirrors always run before the rotation.
  if (plan.rotate !== 0) image = image.rotate(plan.rotate);
  if (plan.mirrorLeftRight) image = image.flop();
  if (plan.mirrorTopBottom) image = image.flip();
  if (plan.crop) image = image.extract(plan.crop);
  if (plan.resize) {
    const { width, height, fit, position, withoutEnlargement, background } = plan.resize;
    image = image.resize({
      ...(width !== undefined && { width }),
      ...(height !== undefined && { height }),
      fit,
      position: toSharpPosition(position),
      withoutEnlargement,
      background,
    });
  }
  if (plan.blur !== undefined) image = image.blur(plan.blur);
  if (plan.sharpen !== undefined) image = image.sharpen({ sigma: plan.sharpen });
  return image;
}

function encode(image: Sharp, plan: TransformPlan): Sharp {
  const flattened = plan.flatten ? image.flatten({ background: plan.flatten }) : image;
  const encoder = encoderOptions(plan.output.format, plan.output.quality, plan.output.economy);
  return flattened.toFormat(encoder.format, encoder.options);
}

/**
 * The second pass: masks, levels and the watermark need the first pass's output size and sRGB
 * pixels, so the first pass is rendered to raw RGBA and finished here.
 */
async function finishPipeline(first: Sharp, plan: TransformPlan, assets: PipelineAssets, limits: TransformLimits): Promise<Sharp> {
  const finish = plan.finish!;
  const { data, info } = await first.toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const load = (pixels: Buffer, w: number, h: number) =>
    sharp(pixels, { raw: { width: w, height: h, channels: 4 } }).timeout({ seconds: limits.timeoutSeconds });
  let image = load(data, width, height);
  let size = { width, height };
  if (finish.mask?.shape === 'circle') {
    // OSS semantics: a centred square of 2r (at most the short side), transparent outside the circle.
    const side = Math.min(2 * finish.mask.radius, width, height);
    const square = { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side };
    image = load(await image.extract(square).raw().toBuffer(), side, side);
    size = { width: side, height: side };
  }
  if (finish.levels) {
    const { multiply, add } = finish.levels;
    image = load(await image.linear([multiply, multiply, multiply, 1], [add, add, add, 0]).raw().toBuffer(), size.width, size.height);
  }
  // sharp composites last in a chain, so each composite gets a chain of its own.
  if (finish.watermark) {
    const overlay = await watermarkOverlay(finish.watermark, assets.watermarkLogo, size.width, size.height);
    image = load(await image.composite([overlay]).raw().toBuffer(), size.width, size.height);
  }
  if (finish.mask) {
    const masked = image.composite([{ input: maskSvg(finish.mask, size.width, size.height), blend: 'dest-in' }]);
    // Rendered here, so that flattening for JPEG happens after the mask, not before it.
    image = load(await masked.raw().toBuffer(), size.width, size.height);
  }
  return image;
}

/** White where the image stays, transparent elsewhere: a circle or a rounded rectangle. */
function maskSvg(mask: NonNullable<NonNullable<TransformPlan['finish']>['mask']>, width: number, height: number): Buffer {
  const radius = Math.min(mask.radius, width / 2, height / 2);
  const shape =
    mask.shape === 'circle'
      ? `<circle cx="${width / 2}" cy="${height / 2}" r="${radius}"/>`
      : `<rect width="${width}" height="${height}" rx="${radius}" ry="${radius}"/>`;
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" fill="#fff">${shape}</svg>`);
}

/** Our positions read like CSS (`right-bottom`); sharp wants `right bottom` or a strategy. */
function toSharpPosition(position: Position): string | number {
  if (position === 'entropy') return sharp.strategy.entropy;
  if (position === 'attention') return sharp.strategy.attention;
  return position.replace('-', ' ');
}

function toDecodeError(error: unknown): OriginError {
  if (error instanceof OriginError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout/i.test(message)) {
    return new UnprocessableImageError('IMAGE_TOO_LARGE', 'image took longer than the transform time limit', error);
  }
  // libvips reports corrupt or truncated pixel data (and an encoder refusing an image's
  // dimensions) only here, during the fused decode+encode: the source is at fault.
  return new UnprocessableImageError('UNREADABLE_IMAGE', 'source image cannot be decoded', error);
}
