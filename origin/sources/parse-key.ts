/**
 * Turns the request path into a source key, or refuses it with 400 before any source is asked.
 * The path is percent-decoded exactly once, so `%2e%2e%2f` is seen as `../` and refused; a key
 * can never be absolute, climb out with `..`, carry NUL or control characters, or use `\`.
 */
import { InvalidRequestError } from '../../transforms/errors.js';
import type { SourceKey } from './source.js';

/** S3's own limit on key length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

export function parseKey(rawPath: string): SourceKey {
  const refuse = (message: string): never => {
    throw new InvalidRequestError([{ param: 'key', message }], 'INVALID_KEY');
  };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return refuse('malformed percent-encoding');
  }
  const key = decoded.replace(/^\//, '');
  if (key === '') refuse('missing: the path names the source image, e.g. /photos/a.jpg');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) refuse(`longer than ${MAX_KEY_BYTES} bytes`);
  if (/[\u0000-\u001f\u007f]/.test(key)) refuse('contains NUL or control characters');
  if (key.includes('\\')) refuse('contains a backslash');
  for (const segment of key.split('/')) {
    if (segment === '') refuse('contains an empty segment (absolute path or "//")');
    if (segment === '.' || segment === '..') refuse('contains "." or ".." segments');
  }
  return key as SourceKey;
}
