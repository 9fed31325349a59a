/**
 * Serves one image variant. The body of `serveVariant` is the request flow; every stage lives in
 * its own module (README: "Request flow"). Plain objects in and out, no fastify, so the flow is
 * testable and the route stays a thin adapter.
 */
import { performance } from 'node:perf_hooks';
import { canonicalizeSpec } from '../transforms/canonical.js';
import type { TransformLimits } from '../transforms/limits.js';
import { runPipeline } from '../transforms/pipeline.js';
import type { TransformSpec } from '../transforms/spec.js';
import { hasConditions, isNotModified, type ConditionalHeaders } from './http/conditional.js';
import { negotiateFormat } from './http/negotiate-format.js';
import { imageHeaders, notModifiedHeaders, type HeaderMap } from './http/response-headers.js';
import { parseKey } from './sources/parse-key.js';
import type { ImageSource } from './sources/source.js';
import { etagFor, variantKey } from './variant-key.js';

export interface OriginDeps {
  readonly source: ImageSource;
  readonly parseSpec: (query: URLSearchParams) => TransformSpec;
  readonly limits: TransformLimits;
  readonly cacheControl: string;
}

export interface VariantRequest {
  /** Request path, still percent-encoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly accept?: string | undefined;
  readonly conditions: ConditionalHeaders;
  readonly signal?: AbortSignal;
}

export interface VariantResponse {
  readonly status: 200 | 304;
  readonly headers: HeaderMap;
  readonly body?: Buffer;
  /** What the request log line records. */
  readonly log: VariantLog;
}

export interface VariantLog {
  readonly variant: string;
  readonly sourceMs?: number;
  readonly transformMs?: number;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
}

export async function serveVariant(deps: OriginDeps, req: VariantRequest): Promise<VariantResponse> {
  const key = parseKey(req.path); // 400 on traversal, NUL, …
  const spec = deps.parseSpec(req.query); // 400 naming each bad parameter
  const token = negotiateFormat(req.accept);
  const canonical = canonicalizeSpec(spec, token, deps.limits);
  const variant = variantKey(key, canonical);
  const common = { cacheControl: deps.cacheControl, negotiated: spec.format === 'auto' };

  if (hasConditions(req.conditions)) {
    const [stat, statMs] = await timed(() => deps.source.stat(key, req.signal)); // metadata only
    const etag = etagFor(variant, stat.version);
    if (isNotModified(req.conditions, etag, stat.lastModified)) {
      const headers = notModifiedHeaders({ ...common, etag, lastModified: stat.lastModified, timings: { sourceMs: statMs } });
      return { status: 304, headers, log: { variant, sourceMs: statMs } };
    }
  }

  const [source, sourceMs] = await timed(() => deps.source.fetch(key, req.signal));
  const [result, transformMs] = await timed(() => runPipeline(source.bytes, canonical, deps.limits));
  const headers = imageHeaders({
    ...common,
    etag: etagFor(variant, source.version),
    lastModified: source.lastModified,
    format: result.format,
    contentLength: result.data.byteLength,
    timings: { sourceMs, transformMs },
  });
  return {
    status: 200,
    headers,
    body: result.data,
    log: { variant, sourceMs, transformMs, bytesIn: source.bytes.byteLength, bytesOut: result.data.byteLength },
  };
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  // Tenths of a millisecond: finer is noise, and it keeps logs and Server-Timing short.
  return [value, Math.round((performance.now() - start) * 10) / 10];
}
