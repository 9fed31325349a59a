/**
 * Turns the request path into a source key, or refuses it with 400 before any source is asked.
 * The path is percent-decoded exactly once, so `%2e%2e%2f` is seen as `../` and refused; a key
 * can never be absolute, climb out with `..`, carry NUL or control characters, or use `\`.
 */
import { InvalidRequestError } from '../../transforms/errors.js';
import { sourceKeyProblem } from '../../transforms/rules.js';
import type { SourceKey } from './source.js';

export function parseKey(rawPath: string): SourceKey {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new InvalidRequestError([{ param: 'key', message: 'malformed percent-encoding' }], 'INVALID_KEY');
  }
  return toSourceKey(decoded.replace(/^\//, ''));
}

/** A key already decoded (from the preset file, or an OSS watermark object), checked by the same rules. */
export function toSourceKey(key: string, param = 'key'): SourceKey {
  const problem = sourceKeyProblem(key);
  if (problem) throw new InvalidRequestError([{ param, message: problem }], 'INVALID_KEY');
  return key as SourceKey;
}
