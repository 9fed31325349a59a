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
  const key = decoded.replace(/^\//, '');
  const problem = sourceKeyProblem(key);
  if (problem) throw new InvalidRequestError([{ param: 'key', message: problem }], 'INVALID_KEY');
  return key as SourceKey;
}
