/**
 * Alibaba Cloud OSS image processing (`?x-oss-process=image/…` and `?x-oss-process=style/…`)
 * read into the native query grammar of `transforms/params.ts`, so an OSS URL and the equivalent
 * native URL are one canonical variant and one cache entry. It is URL grammar, a way of asking,
 * so it lives with the request readers; pure: no I/O, no sharp.
 *
 * The rule is that an OSS URL never silently produces a different image. Everything the native
 * pipeline can reproduce is translated (each operation's module says how, and where OSS semantics
 * differ); everything else is a 400 `UNSUPPORTED_OSS_OPERATION` naming the operation (`rotate`)
 * or the operation's parameter (`resize.m`). Parameters are read as the OSS documentation
 * describes them (help.aliyun.com / alibabacloud.com, "Image Processing" → "IMG parameters").
 * This module splits the value into operations and hands each to its reader; `order.ts` decides
 * whether the URL's order gives the native result; `write-params.ts` writes the native parameters.
 */
import { InvalidRequestError } from '../../../transforms/errors.js';
import { NAME_PATTERN, NAME_RULE } from '../../../transforms/rules.js';
import { logoMark, MAX_WATERMARKS, oneOrList, type Watermarks } from '../../../transforms/watermark.js';
import type { Collected, OperationReader, OpName } from './collected.js';
import { readCrop, readIndexCrop } from './crop.js';
import { readAutoOrient, readFormat, readInterlace, readQuality, readRotate } from './encoding.js';
import { readBlur, readBright, readContrast, readSharpen } from './filters.js';
import { Problems } from './grammar.js';
import { readCircle, readRoundedCorners } from './masks.js';
import { combinationProblems, orderProblems, turnResizeBox, type Op } from './order.js';
import { readResize } from './resize.js';
import { readWatermark } from './watermark.js';
import { writeParams } from './write-params.js';

export type OssRequest =
  | { readonly kind: 'transform'; readonly params: URLSearchParams; readonly watermark?: Watermarks }
  | { readonly kind: 'info' }
  | { readonly kind: 'average-hue' };

/** The error code of every refusal from the OSS dialect (HTTP 400). */
export const OSS_ERROR_CODE = 'UNSUPPORTED_OSS_OPERATION';

/** `info` and `average-hue` describe the source instead of transforming it: no parameters. */
const describes = (op: 'info' | 'average-hue'): OperationReader => (args, _c, problems) => {
  if (args.length > 0) problems.add(op, 'takes no parameters');
};

const READERS: Readonly<Record<OpName, OperationReader>> = {
  resize: readResize,
  crop: readCrop,
  indexcrop: readIndexCrop,
  circle: readCircle,
  'rounded-corners': readRoundedCorners,
  rotate: readRotate,
  'auto-orient': readAutoOrient,
  quality: readQuality,
  format: readFormat,
  interlace: readInterlace,
  blur: readBlur,
  bright: readBright,
  contrast: readContrast,
  sharpen: readSharpen,
  watermark: readWatermark,
  info: describes('info'),
  'average-hue': describes('average-hue'),
};

const isOperation = (name: string): name is OpName => Object.hasOwn(READERS, name);

/**
 * Reads the decoded value of `x-oss-process`. Throws `InvalidRequestError(problems,
 * 'UNSUPPORTED_OSS_OPERATION')` listing every operation or parameter it cannot translate exactly.
 */
export function readOssProcess(value: string): OssRequest {
  const problems = new Problems();
  const slash = value.indexOf('/');
  const family = slash < 0 ? value : value.slice(0, slash);
  const rest = slash < 0 ? '' : value.slice(slash + 1);
  let result: OssRequest | undefined;
  if (family === 'style') result = readStyle(rest, problems);
  else if (family === 'image') result = readImage(rest, problems);
  else problems.add('x-oss-process', `must start with image/ or style/ (got "${family}")`);
  if (problems.list.length > 0 || !result) throw new InvalidRequestError(problems.list, OSS_ERROR_CODE);
  return result;
}

/** `style/<name>`: an OSS image style is a named set of operations; here that is a preset. */
function readStyle(name: string, problems: Problems): OssRequest | undefined {
  if (!NAME_PATTERN.test(name)) return problems.add('style', `must be a style name (${NAME_RULE})`);
  return { kind: 'transform', params: new URLSearchParams([['preset', name]]) };
}

function readImage(rest: string, problems: Problems): OssRequest | undefined {
  if (rest === '') return problems.add('x-oss-process', 'names no operation after image/');
  const ops: Op[] = [];
  const collected: Collected = {};
  rest.split('/').forEach((segment, index) => {
    const [name = '', ...args] = segment.split(',');
    if (name === '') return problems.add('x-oss-process', `operation ${index + 1} is empty`);
    if (!isOperation(name)) return problems.add(name, 'unknown or unsupported OSS operation');
    // Applying an operation twice is two resamplings, two crops, two roundings of levels…: the
    // native pipeline does each once, so repeats are refused; watermarks stack (up to three).
    const count = ops.filter((o) => o.name === name).length;
    if (name === 'watermark' ? count >= MAX_WATERMARKS : count > 0) {
      return problems.add(name, name === 'watermark' ? `at most ${MAX_WATERMARKS} watermarks per request` : 'given more than once');
    }
    ops.push({ name, index });
    READERS[name](args, collected, problems);
    return undefined;
  });
  if (problems.list.length > 0) return undefined;

  const names = ops.map((o) => o.name);
  for (const only of ['info', 'average-hue'] as const) {
    if (names.includes(only)) {
      if (names.length > 1) return problems.add(only, 'must be the only operation');
      return { kind: only };
    }
  }
  if ((collected.watermarks ?? []).filter((m) => logoMark(m) !== undefined).length > 1) {
    problems.add('watermark', 'at most one image watermark per request (text watermarks may be added to it)');
  }
  orderProblems(ops, collected, problems);
  combinationProblems(collected, problems);
  if (problems.list.length > 0) return undefined;
  turnResizeBox(ops, collected);
  return {
    kind: 'transform',
    params: writeParams(collected),
    ...(collected.watermarks && { watermark: oneOrList(collected.watermarks) }),
  };
}
