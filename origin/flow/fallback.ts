/**
 * The fallback stage of the request flow: when the source is missing (404 from the storage), the
 * operator's fallback image (the preset's `fallback`, else `ORIGIN_FALLBACK`) is answered instead,
 * made with the same canonical spec as the request, so a missing avatar becomes the default avatar
 * at the size and in the format the page asked for. It is labelled as such (`X-Image-Fallback: 1`),
 * answered with the configured status and a short `Cache-Control`, so a source uploaded later soon
 * replaces it. A missing fallback is the operator's configuration problem: 502, logged as such.
 */
import type { Preset } from '../../presets/preset-registry.js';
import type { FallbackConfig } from '../delivery-config.js';
import { NotFoundError, SourceUnavailableError } from '../errors.js';
import { imageJob, type Job } from '../load/jobs.js';
import { toSourceKey } from '../sources/parse-key.js';
import type { ImageResponse, ResponsePolicy } from './answer.js';

export interface FallbackPlan {
  readonly job: Job;
  readonly policy: ResponsePolicy;
  /** Whether the client's conditional headers may turn the answer into a 304. */
  readonly conditional: boolean;
}

/** The fallback to answer instead of `error`, or undefined when the error is not a missing source or there is none. */
export function planFallback(config: FallbackConfig, error: unknown, job: Job, policy: ResponsePolicy, preset: Preset | undefined): FallbackPlan | undefined {
  if (!(error instanceof NotFoundError) || job.kind !== 'image') return undefined;
  const key = preset?.fallback ?? config.key;
  if (key === undefined) return undefined;
  const cacheControl = config.cacheControl;
  return {
    job: imageJob(toSourceKey(key, 'fallback'), job.spec),
    policy: { ...policy, cacheControl, degradedCacheControl: cacheControl },
    // A 404 is not revalidated by browsers; a 200 fallback may be, like any image.
    conditional: config.status === 200,
  };
}

/** Runs the fallback's own production; labels its answer, or reports a missing fallback as misconfiguration. */
export async function answerFallback(config: FallbackConfig, produce: () => Promise<ImageResponse>): Promise<ImageResponse> {
  let response: ImageResponse;
  try {
    response = await produce();
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    throw new SourceUnavailableError('the fallback image is missing from the source', { cause: error, isConfigurationError: true, code: 'FALLBACK_MISSING' });
  }
  return {
    ...response,
    status: response.status === 304 ? 304 : config.status,
    headers: { ...response.headers, 'x-image-fallback': '1' },
    log: { ...response.log, fallback: true },
  };
}
