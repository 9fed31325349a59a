/**
 * Rules more than one reader of requests applies (the native query, the preset file, the OSS
 * dialect): one copy of each, so the dialects cannot drift apart.
 */

/**
 * Preset (= OSS style) and watermark names, in OSS's style-name alphabet: 1-64 letters of either
 * case, digits, `_`, `-` and `.` (OSS "Image style"), so every OSS style can be a preset here.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const NAME_RULE = 'names are 1-64 letters, digits, _, - or .';

/** Largest crop coordinate or size: beyond any image that passes the input pixel limit's side. */
export const MAX_CROP_COORDINATE = 100_000;

/** Largest `icrop` slice index (four digits). */
export const MAX_ICROP_INDEX = 9_999;

/** A watermark line, not a paragraph. */
export const MAX_WATERMARK_TEXT = 200;

/** S3's own limit on key length, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/**
 * Why `key` (already percent-decoded, without the leading slash) is not a valid source key, or
 * undefined when it is: never absolute, no `.`/`..`/empty segments, no NUL, control characters or
 * backslash, at most 1024 bytes. Request paths, watermark logos in the preset file and OSS
 * watermark objects all obey it.
 */
export function sourceKeyProblem(key: string): string | undefined {
  if (key === '') return 'missing: the path names the source image, e.g. /photos/a.jpg';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'contains NUL or control characters';
  if (key.includes('\\')) return 'contains a backslash';
  for (const segment of key.split('/')) {
    if (segment === '') return 'contains an empty segment (absolute path or "//")';
    if (segment === '.' || segment === '..') return 'contains "." or ".." segments';
  }
  return undefined;
}
