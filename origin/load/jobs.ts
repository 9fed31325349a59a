/**
 * A job is what the origin may have to make for one request, as plain data: an image variant of a
 * source (or its cheaper economy twin under pressure), or a JSON description of the source. Its
 * variant key names it in the tiers and in coalescing; `renderJob` (render-job.ts) makes it.
 */
import { economizeSpec, KEY_VERSION, type CanonicalSpec } from '../../transforms/canonical.js';
import { logoMark } from '../../transforms/watermark.js';
import type { InfoShape } from '../request/read-request.js';
import { toSourceKey } from '../sources/parse-key.js';
import type { SourceKey } from '../sources/source.js';
import { variantKey, type VariantKey } from '../variant-key.js';

export type Job =
  | {
      readonly kind: 'image';
      readonly key: SourceKey;
      readonly variant: VariantKey;
      readonly spec: CanonicalSpec;
      /** An image watermark's logo, fetched like any original. */
      readonly logoKey?: SourceKey;
    }
  | { readonly kind: 'info'; readonly key: SourceKey; readonly variant: VariantKey; readonly shape: InfoShape };

export function imageJob(key: SourceKey, spec: CanonicalSpec): Job {
  // The logo key comes decoded from the preset file or an OSS URL, and obeys the same rules as request keys.
  const logo = logoMark(spec.wm);
  const logoKey = logo ? toSourceKey(logo.key, 'wm') : undefined;
  return { kind: 'image', key, variant: variantKey(key, spec), spec, ...(logoKey && { logoKey }) };
}

export function infoJob(key: SourceKey, shape: InfoShape): Job {
  return { kind: 'info', key, variant: `${KEY_VERSION}:${key}?info=${shape}` as VariantKey, shape };
}

/** The cheaper twin made under pressure; descriptions have none. */
export function economyJob(job: Job): Job | undefined {
  return job.kind === 'image' ? imageJob(job.key, economizeSpec(job.spec)) : undefined;
}

/** Made the cheap way, so answered with a short CDN lifetime. */
export function isEconomy(job: Job): boolean {
  return job.kind === 'image' && job.spec.eco === true;
}
