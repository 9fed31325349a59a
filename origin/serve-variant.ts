/**
 * Serves one image variant. The body of `serveVariant` is the request flow; every stage lives in
 * its own module (README: "Request flow"). Plain objects in and out, no fastify, so the flow is
 * testable and the route stays a thin adapter.
 */
import { canonicalizeSpec, economizeSpec, type CanonicalSpec } from '../transforms/canonical.js';
import type { TransformLimits } from '../transforms/limits.js';
import type { TransformSpec } from '../transforms/spec.js';
import { hasConditions, isNotModified, type ConditionalHeaders } from './http/conditional.js';
import { negotiateFormat } from './http/negotiate-format.js';
import { imageHeaders, notModifiedHeaders, type HeaderMap, type Timings } from './http/response-headers.js';
import type { Variant, VariantProducer } from './load/variant-producer.js';
import type { Metrics } from './metrics.js';
import { parseKey } from './sources/parse-key.js';
import type { ImageSource, SourceKey } from './sources/source.js';
import { etagFor, variantKey, type VariantKey } from './variant-key.js';

export interface OriginDeps {
  readonly source: ImageSource;
  readonly producer: VariantProducer;
  readonly metrics: Metrics;
  readonly parseSpec: (query: URLSearchParams) => TransformSpec;
  readonly limits: TransformLimits;
  readonly cacheControl: string;
  readonly degradedCacheControl: string;
}

export interface VariantRequest {
  /** Request path, still percent-encoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly accept?: string | undefined;
  readonly conditions: ConditionalHeaders;
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

/** A canonical spec with its key: the full-quality one, or its economy twin under pressure. */
interface Choice {
  readonly spec: CanonicalSpec;
  readonly key: VariantKey;
  readonly degraded: boolean;
}

export async function serveVariant(deps: OriginDeps, req: VariantRequest): Promise<VariantResponse> {
  const key = parseKey(req.path); // 400 on traversal, NUL, …
  const spec = deps.parseSpec(req.query); // 400 naming each bad parameter
  const token = negotiateFormat(req.accept); // Accept → avif | webp | legacy
  const full = choose(key, canonicalizeSpec(spec, token, deps.limits), false);
  const negotiated = spec.format === 'auto';

  let choice = full;
  let kept = deps.producer.lookup(full.key); // variant tier
  if (!kept && deps.producer.shouldDegrade()) {
    choice = choose(key, economizeSpec(full.spec), true);
    kept = deps.producer.lookup(choice.key);
  }
  if (kept) return answer(deps, req, choice, kept, negotiated, { cache: 'hit' });

  if (hasConditions(req.conditions)) {
    const stat = await deps.source.stat(key, req.signal); // metadata only, never the body
    for (const candidate of choice === full ? [full] : [full, choice]) {
      const etag = etagFor(candidate.key, stat.version);
      if (isNotModified(req.conditions, etag, stat.lastModified)) {
        const cacheControl = candidate.degraded ? deps.degradedCacheControl : deps.cacheControl;
        const headers = notModifiedHeaders({ etag, lastModified: stat.lastModified, cacheControl, negotiated, timings: {} });
        return { status: 304, headers, log: { variant: candidate.key } };
      }
    }
  }

  const made = await deps.producer.produce(key, choice.key, choice.spec, req.signal); // coalesced, bounded
  return answer(deps, req, choice, made, negotiated, { sourceMs: made.sourceMs, transformMs: made.transformMs });
}

function choose(key: SourceKey, spec: CanonicalSpec, degraded: boolean): Choice {
  return { spec, key: variantKey(key, spec), degraded };
}

/** 200 with the variant, or 304 when the client already holds it: no work either way. */
function answer(
  deps: OriginDeps,
  req: VariantRequest,
  choice: Choice,
  variant: Variant,
  negotiated: boolean,
  timings: Timings,
): VariantResponse {
  const { cache } = timings;
  if (choice.degraded) deps.metrics.degraded.inc();
  const common = {
    etag: variant.etag,
    lastModified: variant.lastModified,
    cacheControl: choice.degraded ? deps.degradedCacheControl : deps.cacheControl,
    negotiated,
    timings,
  };
  const log: VariantLog = {
    variant: choice.key,
    ...(cache && { cache }),
    ...(choice.degraded && { degraded: true }),
    ...(!cache && { sourceMs: variant.sourceMs, transformMs: variant.transformMs, bytesIn: variant.bytesIn }),
  };
  if (isNotModified(req.conditions, variant.etag, variant.lastModified)) {
    return { status: 304, headers: notModifiedHeaders(common), log };
  }
  const headers = imageHeaders({ ...common, format: variant.format, contentLength: variant.data.byteLength });
  return { status: 200, headers, body: variant.data, log: { ...log, bytesOut: variant.data.byteLength } };
}
