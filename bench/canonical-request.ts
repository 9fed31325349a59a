/**
 * The canonical spec the origin would build for one of the benchmark's plain-parameter requests,
 * so `limit` runs exactly the transforms `cold` asks for. The only place the benchmark reaches
 * into the request flow (origin/flow/serve-image.ts): parse, resolve client hints (the benchmark
 * sends none), negotiate the format from Accept, canonicalize.
 */
import { resolveHints } from '../origin/http/client-hints.js';
import { negotiateFormat } from '../origin/http/negotiate-format.js';
import { canonicalizeSpec, type CanonicalSpec } from '../transforms/canonical.js';
import type { TransformLimits } from '../transforms/limits.js';
import { createSpecParser } from '../transforms/parse-spec.js';
import { ACCEPT, type ImageRequest } from './workload.js';

export function canonicalRequests(limits: TransformLimits): (request: ImageRequest) => CanonicalSpec {
  const parse = createSpecParser(limits);
  const noHints = () => undefined;
  return (request) => {
    const params = new URLSearchParams(request.query);
    if (params.has('preset')) throw new Error('limit reproduces plain-parameter requests only');
    const requested = parse(params);
    const hints = resolveHints(requested, noHints, { dpr: [1], widths: [] });
    return canonicalizeSpec(requested, { token: negotiateFormat(ACCEPT[request.client]), ...hints }, limits);
  };
}
