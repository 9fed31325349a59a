/**
 * Names of results in the store. Every variant of one source lives under the source's own folder,
 * `r1/<readable name>-<hash of the key>/`, so a purge lists one prefix; the object's name is a hash
 * of the variant key, the source's version and the encoder build, so a replaced original or an
 * upgraded encoder never finds an old result. Short, and safe in any store: `[a-z0-9._-]` only.
 */
import { createHash } from 'node:crypto';
import type { SourceKey } from '../sources/source.js';
import { ENCODER_BUILD, type VariantKey } from '../variant-key.js';

/** Bumped when the layout or the stored metadata change: old results are then never read. */
export const RESULT_LAYOUT = 'r1';

const hash = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/** The readable part: the key's last segment, folded to the safe alphabet and cut short. */
function readableName(key: SourceKey): string {
  const last = key.slice(key.lastIndexOf('/') + 1);
  const folded = last.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return folded.slice(0, 40) || 'object';
}

/** The folder holding every result of one source key (ends with `/`). */
export function sourceFolder(key: SourceKey): string {
  return `${RESULT_LAYOUT}/${readableName(key)}-${hash(key, 16)}/`;
}

/** The object name of one variant made from one version of its source. */
export function resultName(key: SourceKey, variant: VariantKey, sourceVersion: string): string {
  return `${sourceFolder(key)}${hash(`${variant}\n${sourceVersion}\n${ENCODER_BUILD}`, 32)}`;
}
