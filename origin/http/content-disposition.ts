/**
 * `Content-Disposition: attachment` for `dl=<name>` (RFC 6266): `filename="…"` in ASCII for old
 * clients (other characters become `_`, quotes and backslashes escaped) and `filename*` with the
 * full name in UTF-8 (RFC 8187, formerly 5987), which every current browser prefers. The name is
 * already sanitized by the parameter's schema (`transforms/file-name.ts`).
 */

/** RFC 8187 attr-char: what `filename*` may carry unencoded. */
const ATTR_CHAR = /^[A-Za-z0-9!#$&+.^_`|~-]$/;

export function attachmentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, (c) => `\\${c}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeExtValue(fileName)}`;
}

function encodeExtValue(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return byte < 0x80 && ATTR_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}
