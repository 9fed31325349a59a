/**
 * The download name of `dl=`: whatever a URL carries, what reaches `Content-Disposition` is one
 * plain file name. Path separators become `_` (no directory can be named), control and
 * bidirectional-override characters are dropped (no header injection, no `gpj.exe` spoofing),
 * leading and trailing dots and spaces go (no hidden files), and the length is capped.
 */
export const MAX_FILE_NAME = 200;

const SEPARATORS = /[/\\]/g;
/** C0 and C1 controls, DEL, and the bidi embedding, override and isolate characters. */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function sanitizeFileName(raw: string): string {
  const cleaned = raw.replace(INVISIBLE, '').replace(SEPARATORS, '_');
  const trimmed = cleaned.replace(/^[\s.]+|[\s.]+$/g, '');
  // Counted in code points, so a capped name never ends in half a surrogate pair.
  return Array.from(trimmed).slice(0, MAX_FILE_NAME).join('').trimEnd();
}
