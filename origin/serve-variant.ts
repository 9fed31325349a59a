/**
 * Serves one image request. The body of `serveVariant` is the request flow after the request has
 * been read (`read-request.ts`): variant tier, degrade under pressure, conditional shortcut,
 * coalesced production, answer. Plain objects in and out, no fastify, so the flow is testable and
 * the route stays a thin adapter.
 */
import { economizeSpec, KEY_VERSION, type CanonicalSpec } from '../transforms/canonical.js';
import { describeImage } from '../transforms/describe-image.js';
import { hasConditions, isNotModified, type ConditionalHeaders } from './http/conditional.js';
import { imageHeaders, notModifiedHeaders, type HeaderMap, type Timings } from './http/response-headers.js';
import type { Variant, VariantProducer } from './load/variant-producer.js';
import type { Metrics } from './metrics.js';
import { readImageRequest, type InfoShape, type RawRequest, type RequestDeps, type ResponsePolicy } from './read-request.js';
import { toOssAverageHue, toOssInfo } from './request/oss/info.js';
import type { ImageSource, SourceKey } from './sources/source.js';
import { etagFor, variantKey, type VariantKey } from './variant-key.js';

export interface OriginDeps extends RequestDeps {
  readonly source: ImageSource;
  readonly producer: VariantProducer;
  readonly metrics: Metrics;
  readonly degradedCacheControl: string;
}

export interface VariantRequest extends RawRequest {
  /** Aborts when the client hangs up or the request's deadline passes. */
  readonly signal: AbortSignal;
}

export interface VariantLog {
  readonly variant: string;
  readonly cache?: 'hit';
  readonly degraded?: true;
  readonly sourceMs?: number;
  readonly transformMs?: number;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
}

export interface VariantResponse {
  readonly status: 200 | 304;
  readonly headers: HeaderMap;
  readonly body?: Buffer;
  /** What the request log line records. */
  readonly log: VariantLog;
}

/** A variant key with how to make it and label it: the full-quality variant, its economy twin, or a description. */
interface Choice {
  readonly key: VariantKey;
  readonly degraded: boolean;
  readonly make: (signal: AbortSignal) => Promise<Variant>;
}

export async function serveVariant(deps: OriginDeps, req: VariantRequest): Promise<VariantResponse> {
  const request = readImageRequest(deps, req); // 400/403/404 for anything malformed
  const conditions: ConditionalHeaders = { ifNoneMatch: req.header('if-none-match'), ifModifiedSince: req.header('if-modified-since') };
  const full = request.kind === 'info' ? describing(deps, request.key, request.shape) : making(deps, request.key, request.spec, false);

  let choice = full;
  let kept = deps.producer.lookup(full.key); // variant tier
  if (!kept && request.kind === 'variant' && deps.producer.shouldDegrade()) {
    choice = making(deps, request.key, economizeSpec(request.spec), true);
    kept = deps.producer.lookup(choice.key);
  }
  if (kept) return answer(deps, conditions, request.policy, choice, kept, { cache: 'hit' });

  if (hasConditions(conditions)) {
    const stat = await deps.source.stat(request.key, req.signal); // metadata only, never the body
    for (const candidate of choice === full ? [full] : [full, choice]) {
      const etag = etagFor(candidate.key, stat.version);
      if (isNotModified(conditions, etag, stat.lastModified)) {
        const headers = notModifiedHeaders({ ...labels(deps, request.policy, candidate), etag, lastModified: stat.lastModified, timings: {} });
        return { status: 304, headers, log: { variant: candidate.key } };
      }
    }
  }

  const made = await choice.make(req.signal); // coalesced, bounded
  return answer(deps, conditions, request.policy, choice, made, { sourceMs: made.sourceMs, transformMs: made.transformMs });
}

function making(deps: OriginDeps, key: SourceKey, spec: CanonicalSpec, degraded: boolean): Choice {
  const variant = variantKey(key, spec);
  return { key: variant, degraded, make: (signal) => deps.producer.produce(key, variant, spec, signal) };
}

/** The JSON each `info` shape answers with, from the source's bytes. */
const DESCRIBERS: Readonly<Record<InfoShape, (bytes: Buffer, deps: OriginDeps) => Promise<unknown>>> = {
  native: (bytes, deps) => describeImage(bytes, deps.limits),
  'oss-info': async (bytes, deps) => toOssInfo(await describeImage(bytes, deps.limits)),
  'oss-average-hue': async (bytes, deps) => toOssAverageHue(await describeImage(bytes, deps.limits)),
};

function describing(deps: OriginDeps, key: SourceKey, shape: InfoShape): Choice {
  const variant = `${KEY_VERSION}:${key}?info=${shape}` as VariantKey;
  const render = async (bytes: Buffer) => JSON.stringify(await DESCRIBERS[shape](bytes, deps));
  return { key: variant, degraded: false, make: (signal) => deps.producer.describe(key, variant, render, signal) };
}

function labels(deps: OriginDeps, policy: ResponsePolicy, choice: Choice) {
  return { ...policy, cacheControl: choice.degraded ? deps.degradedCacheControl : policy.cacheControl } as const;
}

/** 200 with the variant, or 304 when the client already holds it: no work either way. */
function answer(
  deps: OriginDeps,
  conditions: ConditionalHeaders,
  policy: ResponsePolicy,
  choice: Choice,
  variant: Variant,
  timings: Timings,
): VariantResponse {
  if (choice.degraded) deps.metrics.degraded.inc();
  const common = { ...labels(deps, policy, choice), etag: variant.etag, lastModified: variant.lastModified, timings };
  const log: VariantLog = {
    variant: choice.key,
    ...(timings.cache && { cache: timings.cache }),
    ...(choice.degraded && { degraded: true }),
    ...(!timings.cache && { sourceMs: variant.sourceMs, transformMs: variant.transformMs, bytesIn: variant.bytesIn }),
  };
  if (isNotModified(conditions, variant.etag, variant.lastModified)) {
    return { status: 304, headers: notModifiedHeaders(common), log };
  }
  const headers = imageHeaders({ ...common, contentType: variant.contentType, contentLength: variant.data.byteLength });
  return { status: 200, headers, body: variant.data, log: { ...log, bytesOut: variant.data.byteLength } };
}
