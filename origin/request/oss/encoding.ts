/**
 * The OSS operations that change how the image is stored or turned rather than its pixels'
 * content: `quality`, `format`, `interlace`, `auto-orient` and `rotate`. None but `rotate` has a
 * stage in the native order: the encoder settings apply at the end and EXIF orientation at the
 * start, wherever they are written (see `order.ts`).
 */
import type { OutputFormat, Rotation } from '../../../transforms/params.js';
import type { OperationReader } from './collected.js';
import { FLAG, int, lookup, readArgs, readValue, TEXT } from './grammar.js';

const QUALITY = int(1, 100);
const QUALITY_ARGS = { q: QUALITY, Q: QUALITY };

const FORMATS: Readonly<Record<string, OutputFormat>> = { jpg: 'jpeg', jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', avif: 'avif' };
/** Formats OSS writes and the origin does not. */
const UNSUPPORTED_FORMATS: readonly string[] = ['bmp', 'tiff', 'heic', 'jxl'];

/**
 * quality: Q (absolute) and q (relative to the source JPEG's own quality) → q, absolute. The
 * differences: OSS caps Q at the source's quality, and computes q × source quality; the origin
 * does not read the source's quantisation tables, so both are the encoder quality as given.
 * With both, Q wins (documented).
 */
export const readQuality: OperationReader = (args, c, problems) => {
  const a = readArgs('quality', args, QUALITY_ARGS, problems);
  if (!a?.requireAny(['q', 'Q'])) return;
  const relative = a.get('q');
  const absolute = a.get('Q');
  const q = a.has('Q') ? absolute : relative;
  if (q !== undefined) c.quality = q;
};

export const readFormat: OperationReader = (args, c, problems) => {
  const op = 'format';
  const v = readValue(op, args, TEXT, problems);
  if (v === undefined) return;
  const format = lookup(FORMATS, v);
  if (format) c.format = format;
  else if (UNSUPPORTED_FORMATS.includes(v)) problems.add(op, `${v} output is not supported (jpg, png, webp, gif, avif)`);
  else problems.add(op, 'must be one of jpg, png, webp, gif, avif');
};

/**
 * JPEG output is always progressive here (mozjpeg's scans; economy mode sets progressive), so
 * interlace,1 is what happens anyway and interlace,0 (baseline) is a difference in encoding only,
 * not in pixels: both are accepted and write nothing.
 */
export const readInterlace: OperationReader = (args, _c, problems) => {
  readValue('interlace', args, FLAG, problems);
};

/**
 * The origin always applies EXIF orientation first (what auto-orient,1 asks for); keeping the
 * stored orientation (auto-orient,0) cannot be expressed.
 */
export const readAutoOrient: OperationReader = (args, _c, problems) => {
  const op = 'auto-orient';
  if (readValue(op, args, FLAG, problems) === false) problems.add(op, 'auto-orient,0 is not supported: EXIF orientation is always applied');
};

/**
 * OSS: 0-360 degrees clockwise (360 is 0); other than quarter turns the canvas grows to hold the
 * turned image, as native `rot` does (filled white, or transparent for sources with alpha).
 */
export const readRotate: OperationReader = (args, c, problems) => {
  const op = 'rotate';
  const degrees = readValue(op, args, int(0, 360), problems);
  if (degrees === undefined) return;
  c.rotate = (degrees % 360) as Rotation;
};
