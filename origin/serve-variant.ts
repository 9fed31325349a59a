/**
 * Serves one image variant. The body of `serveVariant` is the request flow; every stage lives in
 * its own module (README: "Request flow"). Plain objects in and out, no fastify, so the flow is
 * testable and the route stays a thin adapter.
 */
import { canonicalizeSpec, economizeSpec, type CanonicalSpec } from '../transforms/canonical.js';
import type { FormatToken } from '../transforms/formats.js';
import type { TransformLimits } from '../transforms/limits.js';
import type { RequestedSpec } from '../transforms/spec.js';
import { applyPreset } from '../presets/apply-preset.js';
import type { PresetRegistry } from '../presets/preset-registry.js';
import { resolveClientHints, type HeaderReader, type HintSteps } from './http/client-hints.js';
import { hasConditions, isNotModified, type ConditionalHeaders } from './http/conditional.js';
import { formatToken } from './http/negotiate-format.js';
import { imageHeaders, notModifiedHeaders, type HeaderMap, type Timings } from './http/response-headers.js';
import type { Variant, VariantProducer } from './load/variant-producer.js';
import type { Metrics } from './metrics.js';
import { verifySignature } from './signing.js';
import { parseKey } from './sources/parse-key.js';
import type { ImageSource, SourceKey } from './sources/source.js';
import { etagFor, variantKey, type VariantKey } from './variant-key.js';

export interface OriginDeps {
  readonly source: ImageSource;
  readonly producer: VariantProducer;
  readonly metrics: Metrics;
  readonly parseSpec: (query: URLSearchParams) => RequestedSpec;
  readonly presets: PresetRegistry;
  readonly presetsOnly: boolean;
  /** Signed URLs are required when non-empty. */
  readonly signingKeys: readonly string[];
  readonly hints: HintSteps;
  readonly limits: TransformLimits;
  readonly cacheControl: string;
  readonly degradedCacheControl: string;
}

export interface VariantRequest {
  /** Request path, still percent-encoded. */
  readonly path: string;
  /** Query string without `?`, exactly as sent. */
  readonly rawQuery: string;
  /** Request header by lower-case name. */
  readonly header: HeaderReader;
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

/** How every response for this request is labelled, whichever variant answers it. */
interface ResponsePolicy {
  readonly cacheControl: string;
  readonly vary: readonly string[];
  readonly formatToken?: FormatToken;
}

export async function serveVariant(deps: OriginDeps, req: VariantRequest): Promise<VariantResponse> {
  const query = new URLSearchParams(req.rawQuery);
  if (deps.signingKeys.length > 0) acceptSignature(deps, req, query); // 403
  const key = parseKey(req.path); // 400 on traversal, NUL, …
  const { params, preset } = applyPreset(query, deps.presets, deps.presetsOnly); // 404 unknown preset, 400 overrides
  const requested = deps.parseSpec(params); // 400 naming each bad parameter
  const hinted = resolveClientHints(requested, req.header, deps.hints, preset?.width); // w=auto, dpr=auto
  const spec = preset?.qualities ? { ...hinted.spec, qualities: preset.qualities } : hinted.spec;
  const token = formatToken(req.header); // Accept → avif | webp | legacy
  const negotiated = spec.format === 'auto';
  const policy: ResponsePolicy = {
    cacheControl: preset?.cacheControl ?? deps.cacheControl,
    vary: [...(negotiated ? ['Accept'] : []), ...hinted.vary],
    ...(negotiated && { formatToken: token }),
  };
  const full = choose(key, canonicalizeSpec(spec, token, deps.limits), false);
  const conditions: ConditionalHeaders = { ifNoneMatch: req.header('if-none-match'), ifModifiedSince: req.header('if-modified-since') };

  let choice = full;
  let kept = deps.producer.lookup(full.key); // variant tier
  if (!kept && deps.producer.shouldDegrade()) {
    choice = choose(key, economizeSpec(full.spec), true);
    kept = deps.producer.lookup(choice.key);
  }
  if (kept) return answer(deps, conditions, policy, choice, kept, { cache: 'hit' });

  if (hasConditions(conditions)) {
    const stat = await deps.source.stat(key, req.signal); // metadata only, never the body
    for (const candidate of choice === full ? [full] : [full, choice]) {
      const etag = etagFor(candidate.key, stat.version);
      if (isNotModified(conditions, etag, stat.lastModified)) {
        const headers = notModifiedHeaders({ ...labels(deps, policy, candidate), etag, lastModified: stat.lastModified, timings: {} });
        return { status: 304, headers, log: { variant: candidate.key } };
      }
    }
  }

  const made = await deps.producer.produce(key, choice.key, choice.spec, req.signal); // coalesced, bounded
  return answer(deps, conditions, policy, choice, made, { sourceMs: made.sourceMs, transformMs: made.transformMs });
}

/** Checks `sig` (and `exp`) and removes them, so the rest of the flow sees only transform parameters. */
function acceptSignature(deps: OriginDeps, req: VariantRequest, query: URLSearchParams): void {
  verifySignature(req.path, query, req.rawQuery, deps.signingKeys, Math.floor(Date.now() / 1000));
  query.delete('sig');
  query.delete('exp');
}

function choose(key: SourceKey, spec: CanonicalSpec, degraded: boolean): Choice {
  return { spec, key: variantKey(key, spec), degraded };
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
  const headers = imageHeaders({ ...common, format: variant.format, contentLength: variant.data.byteLength });
  return { status: 200, headers, body: variant.data, log: { ...log, bytesOut: variant.data.byteLength } };
}
