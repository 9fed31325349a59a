/**
 * OSS image styles written into the path: `/a.jpg!thumb` is `/a.jpg?x-oss-process=style/thumb`,
 * which is `/a.jpg?preset=thumb` (README: "Alibaba Cloud OSS URLs"). The delimiters are the
 * operator's choice among those OSS offers (`ORIGIN_STYLE_DELIMITERS`: `!`, `-`, `_`, `@!`).
 *
 * Keys may contain the delimiter themselves (`my-photo.jpg` with `-`), so the split is decided
 * in the last path segment, as sent (still percent-encoded: an encoded `%21` or `%2D` is always
 * part of the key), from the right:
 * 1. the rightmost delimiter whose suffix is a known style splits there;
 * 2. failing that, the rightmost `!` or `@!` (delimiters keys rarely contain) names a style that
 *    must exist: an unknown one is 404 `UNKNOWN_PRESET`, a malformed name 400;
 * 3. failing that (only `-`/`_` occurrences, none naming a style), the whole path is the key.
 */
import { UnknownPresetError } from '../../presets/errors.js';
import { InvalidRequestError } from '../../transforms/errors.js';
import { NAME_PATTERN, NAME_RULE } from '../../transforms/rules.js';

export const STYLE_DELIMITERS = ['!', '-', '_', '@!'] as const;
export type StyleDelimiter = (typeof STYLE_DELIMITERS)[number];

/** Delimiters a key rarely contains: after one of them the rest must be a style. */
const STRICT: ReadonlySet<string> = new Set<StyleDelimiter>(['!', '@!']);

export interface StyledPath {
  /** The path without the style suffix, still percent-encoded. */
  readonly path: string;
  readonly style?: string;
}

interface Cut {
  readonly at: number;
  readonly end: number;
  readonly delimiter: string;
}

export function splitStyle(rawPath: string, delimiters: readonly StyleDelimiter[], isStyle: (name: string) => boolean): StyledPath {
  const segmentStart = rawPath.lastIndexOf('/') + 1;
  const cuts = delimiterCuts(rawPath, segmentStart, delimiters);
  const known = cuts.find((cut) => isStyle(rawPath.slice(cut.end)));
  const cut = known ?? cuts.find((c) => STRICT.has(c.delimiter));
  if (!cut) return { path: rawPath };
  const style = rawPath.slice(cut.end);
  if (!known) {
    if (!NAME_PATTERN.test(style)) {
      throw new InvalidRequestError([{ param: 'style', message: `"${cut.delimiter}" must be followed by a style name (${NAME_RULE})` }]);
    }
    throw new UnknownPresetError(style);
  }
  return { path: rawPath.slice(0, cut.at), style };
}

/** Every place a delimiter occurs in the last segment, rightmost end first (`@!` before its `!`). */
function delimiterCuts(rawPath: string, segmentStart: number, delimiters: readonly StyleDelimiter[]): Cut[] {
  const cuts: Cut[] = [];
  for (const delimiter of delimiters) {
    for (let at = rawPath.indexOf(delimiter, segmentStart); at >= 0; at = rawPath.indexOf(delimiter, at + 1)) {
      // A cut leaves a key before it: a delimiter opening the segment is part of the key.
      if (at > segmentStart) cuts.push({ at, end: at + delimiter.length, delimiter });
    }
  }
  return cuts.sort((a, b) => b.end - a.end || b.delimiter.length - a.delimiter.length);
}
