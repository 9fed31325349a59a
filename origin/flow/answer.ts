/**
 * The last stages of the request flow: how every response for one request is labelled (its
 * policy), and the answers themselves: 200 with a variant, or 304 when the client's copy is
 * current, decided from a kept or fresh variant or from a source stat alone. Pure functions over
 * plain data; headers come from `http/response-headers.ts`.
 */
import type { CanonicalSpec } from '../../transforms/canonical.js';
import type { FormatToken } from '../../transforms/formats.js';
import { isNotModified, type ConditionalHeaders } from '../http/conditional.js';
import { attachmentDisposition } from '../http/content-disposition.js';
import { imageHeaders, notModifiedHeaders, type HeaderMap, type Timings } from '../http/response-headers.js';
import { isEconomy, type Job } from '../load/jobs.js';
import type { Variant } from '../load/variants.js';
import type { SourceStat } from '../sources/source.js';
import { etagFor } from '../variant-key.js';

/** How every response for one request is labelled, whichever variant answers it. */
export interface ResponsePolicy {
  readonly cacheControl: string;
  /** For variants made the cheap way under pressure: short, so the CDN comes back. */
  readonly degradedCacheControl: string;
  readonly vary: readonly string[];
  readonly formatToken?: FormatToken;
  /** `Content-Disposition` of a 200, for `dl=`. */
  readonly contentDisposition?: string;
}

export interface VariantLog {
  readonly variant: string;
  readonly cache?: 'hit';
  readonly degraded?: true;
  readonly sourceMs?: number;
  readonly transformMs?: number;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
  /** Answered with the fallback image, the source being missing. */
  readonly fallback?: true;
}

export interface ImageResponse {
  readonly status: 200 | 304 | 404;
  readonly headers: HeaderMap;
  readonly body?: Buffer;
  /** What the request log line records. */
  readonly log: VariantLog;
}

/**
 * `Vary` names exactly the request headers the result depended on. The token header decides too
 * when a CDN sends it; naming it keeps a cache that honours Vary (but does not set the token) from
 * being poisoned by a client that forges it.
 */
export function imagePolicy(spec: CanonicalSpec, hintsVary: readonly string[], cacheControl: string, degradedCacheControl: string): ResponsePolicy {
  const token = spec.fm.startsWith('auto-') ? (spec.fm.slice('auto-'.length) as FormatToken) : undefined;
  return {
    cacheControl,
    degradedCacheControl,
    vary: [...(token ? ['Accept', 'X-Image-Format-Token'] : []), ...hintsVary],
    ...(token && { formatToken: token }),
    ...(spec.dl !== undefined && { contentDisposition: attachmentDisposition(spec.dl) }),
  };
}

function labels(policy: ResponsePolicy, job: Job) {
  const { formatToken, vary } = policy;
  return { vary, formatToken, cacheControl: isEconomy(job) ? policy.degradedCacheControl : policy.cacheControl };
}

/**
 * The two answers a kept variant gives under one policy (200 and 304) never change, so a tier hit
 * builds them once: keyed by the variant object (one per tier entry; gone with it) and the policy
 * (one per remembered plan, `request-memo.ts`). Building the headers was half a memoised hit's work.
 */
const keptAnswers = new WeakMap<Variant, WeakMap<ResponsePolicy, { readonly ok: ImageResponse; readonly notModified: ImageResponse }>>();

/** 200 with the variant, or 304 when the client already holds it: no work either way. */
export function answer(conditions: ConditionalHeaders, policy: ResponsePolicy, job: Job, variant: Variant, fromTier: boolean): ImageResponse {
  if (!fromTier) return buildAnswer(conditions, policy, job, variant, false);
  let byPolicy = keptAnswers.get(variant);
  if (byPolicy === undefined) keptAnswers.set(variant, (byPolicy = new WeakMap()));
  let answers = byPolicy.get(policy);
  if (answers === undefined) {
    // `job` is the one the tier was asked for (its variant key is this variant's), so the answers are the same for every hit.
    answers = { ok: buildAnswer({}, policy, job, variant, true), notModified: buildAnswer({ ifNoneMatch: variant.etag }, policy, job, variant, true) };
    byPolicy.set(policy, answers);
  }
  return isNotModified(conditions, variant.etag, variant.lastModified) ? answers.notModified : answers.ok;
}

function buildAnswer(conditions: ConditionalHeaders, policy: ResponsePolicy, job: Job, variant: Variant, fromTier: boolean): ImageResponse {
  const timings: Timings = fromTier ? { cache: 'hit' } : { sourceMs: variant.sourceMs, transformMs: variant.transformMs };
  const common = { ...labels(policy, job), etag: variant.etag, lastModified: variant.lastModified, timings };
  const log: VariantLog = {
    variant: job.variant,
    ...(fromTier ? { cache: 'hit' as const } : { sourceMs: variant.sourceMs, transformMs: variant.transformMs, bytesIn: variant.bytesIn }),
    ...(isEconomy(job) && { degraded: true as const }),
  };
  if (isNotModified(conditions, variant.etag, variant.lastModified)) return { status: 304, headers: notModifiedHeaders(common), log };
  const headers = imageHeaders({ ...common, contentType: variant.contentType, contentLength: variant.data.byteLength, contentDisposition: policy.contentDisposition });
  return { status: 200, headers, body: variant.data, log: { ...log, bytesOut: variant.data.byteLength } };
}

/** 304 from the source's metadata alone, when one of the candidate variants is what the client holds. */
export function answerFromStat(conditions: ConditionalHeaders, policy: ResponsePolicy, candidates: readonly Job[], stat: SourceStat): ImageResponse | undefined {
  for (const job of candidates) {
    const etag = etagFor(job.variant, stat.version);
    if (isNotModified(conditions, etag, stat.lastModified)) {
      const headers = notModifiedHeaders({ ...labels(policy, job), etag, lastModified: stat.lastModified, timings: {} });
      return { status: 304, headers, log: { variant: job.variant } };
    }
  }
  return undefined;
}
