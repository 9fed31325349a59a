/**
 * The identity of a variant: which source object, made how. The variant key names the variant
 * for logs and caches; the ETag additionally binds the source's version and the libvips build,
 * because the same key over changed bytes, or under another encoder, is a different representation.
 */
import { createHash } from 'node:crypto';
import { sharp } from '../transforms/sharp.js';
import { KEY_VERSION, serializeCanonical, type CanonicalSpec } from '../transforms/canonical.js';
import type { SourceKey } from './sources/source.js';

export type VariantKey = string & { readonly __brand: 'VariantKey' };

export function variantKey(key: SourceKey, spec: CanonicalSpec): VariantKey {
  return `${KEY_VERSION}:${key}?${serializeCanonical(spec)}` as VariantKey;
}

/** The encoder build: a new sharp or libvips may encode other bytes, so it is part of ETags and result-store keys. */
export const ENCODER_BUILD = `sharp ${sharp.versions.sharp} vips ${sharp.versions.vips}`;

/** Strong ETag: identical only when the bytes we would send are identical. */
export function etagFor(variant: VariantKey, sourceVersion: string): string {
  const digest = createHash('sha256').update(`${variant}\n${sourceVersion}\n${ENCODER_BUILD}`).digest('base64url');
  return `"${digest.slice(0, 27)}"`;
}
