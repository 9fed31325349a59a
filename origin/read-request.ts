/**
 * Reads one image request into what the rest of the flow works with: the source key and either
 * the canonical spec of the variant (with how its responses are labelled) or which description
 * of the source is wanted. Every way of asking lands here: native parameters, `?preset=`, client
 * hints, `?info=1`, and Alibaba OSS's `x-oss-process` (translated into native parameters, so an
 * OSS URL and the equivalent native URL are one variant). Refusals are 400/403/404.
 */
import type { PresetCatalog } from '../presets/preset-registry.js';
import { applyPreset } from '../presets/apply-preset.js';
import { canonicalizeSpec, type CanonicalSpec } from '../transforms/canonical.js';
import { InvalidRequestError } from '../transforms/errors.js';
import type { FormatToken } from '../transforms/formats.js';
import type { TransformLimits } from '../transforms/limits.js';
import type { RequestedSpec, TransformSpec } from '../transforms/spec.js';
import { DEFAULT_TEXT_STYLE, type Watermark } from '../transforms/watermark.js';
import { resolveClientHints, type HeaderReader, type HintSteps } from './http/client-hints.js';
import { formatToken } from './http/negotiate-format.js';
import { readOssProcess, type OssRequest } from './request/oss/index.js';
import { verifySignature } from './signing.js';
import { parseKey } from './sources/parse-key.js';
import type { SourceKey } from './sources/source.js';

export interface RequestDeps {
  readonly parseSpec: (query: URLSearchParams) => RequestedSpec;
  readonly catalog: PresetCatalog;
  readonly presetsOnly: boolean;
  /** Signed URLs are required when non-empty. */
  readonly signingKeys: readonly string[];
  readonly hints: HintSteps;
  readonly limits: TransformLimits;
  readonly cacheControl: string;
}

export interface RawRequest {
  /** Request path, still percent-encoded. */
  readonly path: string;
  /** Query string without `?`, exactly as sent. */
  readonly rawQuery: string;
  readonly header: HeaderReader;
}

/** How every response for one request is labelled, whichever variant answers it. */
export interface ResponsePolicy {
  readonly cacheControl: string;
  readonly vary: readonly string[];
  readonly formatToken?: FormatToken;
}

export type InfoShape = 'native' | 'oss-info' | 'oss-average-hue';

export type ImageRequest =
  | { readonly kind: 'variant'; readonly key: SourceKey; readonly spec: CanonicalSpec; readonly policy: ResponsePolicy }
  | { readonly kind: 'info'; readonly key: SourceKey; readonly shape: InfoShape; readonly policy: ResponsePolicy };

const OSS_PARAM = 'x-oss-process';

export function readImageRequest(deps: RequestDeps, req: RawRequest): ImageRequest {
  const query = new URLSearchParams(req.rawQuery);
  const signed = deps.signingKeys.length > 0;
  if (signed) acceptSignature(deps, req, query); // 403
  const key = parseKey(req.path); // 400 on traversal, NUL, …
  const oss = readOss(query);
  const shape = infoShape(query, oss);
  if (shape) return { kind: 'info', key, shape, policy: { cacheControl: deps.cacheControl, vary: [] } };

  const { params, preset } = applyPreset(oss?.kind === 'transform' ? oss.params : query, deps.catalog.presets, deps.presetsOnly);
  const requested = deps.parseSpec(params); // 400 naming each bad parameter
  const hinted = resolveClientHints(requested, req.header, deps.hints, preset?.width); // w=auto, dpr=auto
  const spec: TransformSpec = preset?.qualities ? { ...hinted.spec, qualities: preset.qualities } : hinted.spec;
  const token = formatToken(req.header); // Accept → avif | webp | legacy
  const negotiated = spec.format === 'auto';
  const watermark = resolveWatermark(spec, oss?.kind === 'transform' ? oss.watermark : undefined, deps.catalog, signed);
  return {
    kind: 'variant',
    key,
    spec: canonicalizeSpec(spec, token, deps.limits, watermark),
    policy: {
      cacheControl: preset?.cacheControl ?? deps.cacheControl,
      // The token header decides too when a CDN sends it; naming it keeps a cache that honours
      // Vary (but does not set the token) from being poisoned by a client that forges it.
      vary: [...(negotiated ? ['Accept', 'X-Image-Format-Token'] : []), ...hinted.vary],
      ...(negotiated && { formatToken: token }),
    },
  };
}

/** Checks `sig` (and `exp`) and removes them, so the rest of the flow sees only transform parameters. */
function acceptSignature(deps: RequestDeps, req: RawRequest, query: URLSearchParams): void {
  verifySignature(req.path, query, req.rawQuery, deps.signingKeys, Math.floor(Date.now() / 1000));
  query.delete('sig');
  query.delete('exp');
}

/** The OSS dialect stands alone: mixing it with native parameters would make two meanings. */
function readOss(query: URLSearchParams): OssRequest | undefined {
  const values = query.getAll(OSS_PARAM);
  if (values.length === 0) return undefined;
  const others = [...query.keys()].filter((name) => name !== OSS_PARAM);
  if (values.length > 1) throw new InvalidRequestError([{ param: OSS_PARAM, message: 'given more than once' }]);
  if (others.length > 0) {
    throw new InvalidRequestError(others.map((param) => ({ param, message: `cannot be combined with ${OSS_PARAM}` })));
  }
  return readOssProcess(values[0]!);
}

function infoShape(query: URLSearchParams, oss: OssRequest | undefined): InfoShape | undefined {
  if (oss?.kind === 'info') return 'oss-info';
  if (oss?.kind === 'average-hue') return 'oss-average-hue';
  if (!query.has('info')) return undefined;
  const problems = [
    ...(query.getAll('info').join() === '1' ? [] : [{ param: 'info', message: 'must be 1, once' }]),
    ...[...new Set(query.keys())].filter((name) => name !== 'info').map((param) => ({ param, message: 'cannot be combined with info' })),
  ];
  if (problems.length > 0) throw new InvalidRequestError(problems);
  return 'native';
}

/**
 * The watermark to stamp: one from the OSS dialect, a named one (`wm`), or free text (`wmt`,
 * styled by the named text watermark or the default). Free text only on signed URLs: otherwise
 * anyone could make the origin print anything on anyone's images.
 */
function resolveWatermark(spec: TransformSpec, fromOss: Watermark | undefined, catalog: PresetCatalog, signed: boolean): Watermark | undefined {
  const refuse = (param: string, message: string): never => {
    throw new InvalidRequestError([{ param, message }]);
  };
  if (fromOss) {
    if (fromOss.kind === 'text' && !signed) refuse(OSS_PARAM, 'text watermarks are accepted on signed URLs only');
    return fromOss;
  }
  const named = spec.watermark === undefined ? undefined : catalog.watermarks.get(spec.watermark);
  if (spec.watermark !== undefined && !named) refuse('wm', `no watermark named "${spec.watermark}"`);
  if (spec.watermarkText === undefined) return named;
  if (!signed) refuse('wmt', 'free watermark text is accepted on signed URLs only');
  if (named?.kind === 'image') refuse('wmt', `"${spec.watermark}" is an image watermark`);
  const style = named?.kind === 'text' ? named : DEFAULT_TEXT_STYLE;
  return { ...style, text: spec.watermarkText };
}
