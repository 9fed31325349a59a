/**
 * Reads one image request into what the rest of the flow works with: the source key and either
 * the requested spec (with its preset and watermark) or which description of the source is wanted.
 * Every way of asking is a dialect that lands here as the same requested spec: native parameters,
 * `?preset=`, `?info=1`, and Alibaba OSS's `x-oss-process`. Refusals are 400/403/404.
 */
import { applyPreset } from '../../presets/apply-preset.js';
import type { Preset, PresetCatalog } from '../../presets/preset-registry.js';
import { InvalidRequestError } from '../../transforms/errors.js';
import type { SpecParser } from '../../transforms/parse-spec.js';
import type { RequestedSpec } from '../../transforms/params.js';
import type { Watermarks } from '../../transforms/watermark.js';
import type { HeaderReader } from '../http/client-hints.js';
import { verifySignature } from '../signing.js';
import { parseKey } from '../sources/parse-key.js';
import type { SourceKey } from '../sources/source.js';
import { readOssProcess, type OssRequest } from './oss/index.js';
import { querySpellingProblems } from './query-spelling.js';
import { splitStyle, type StyleDelimiter } from './style-suffix.js';
import { chooseWatermark } from './watermark-choice.js';

export interface RequestDeps {
  readonly parseSpec: SpecParser;
  readonly catalog: PresetCatalog;
  readonly presetsOnly: boolean;
  /** Signed URLs are required when non-empty. */
  readonly signingKeys: readonly string[];
  /** Delimiters of OSS styles in the path (`a.jpg!thumb`); `!` when omitted. */
  readonly styleDelimiters?: readonly StyleDelimiter[];
  /** Free watermark text accepted on unsigned URLs (ORIGIN_PUBLIC_TEXT_WATERMARK). */
  readonly publicTextWatermark?: boolean;
}

export interface RawRequest {
  /** Request path, still percent-encoded. */
  readonly path: string;
  /** Query string without `?`, exactly as sent. */
  readonly rawQuery: string;
  readonly header: HeaderReader;
}

export type InfoShape = 'native' | 'oss-info' | 'oss-average-hue';

export type ImageRequest =
  | {
      readonly kind: 'variant';
      readonly key: SourceKey;
      readonly spec: RequestedSpec;
      readonly preset?: Preset | undefined;
      readonly watermark?: Watermarks | undefined;
    }
  | { readonly kind: 'info'; readonly key: SourceKey; readonly shape: InfoShape };

const OSS_PARAM = 'x-oss-process';

export function readRequest(deps: RequestDeps, req: RawRequest): ImageRequest {
  const query = new URLSearchParams(req.rawQuery);
  const signed = deps.signingKeys.length > 0;
  if (signed) acceptSignature(deps, req, query); // 403
  const spelling = querySpellingProblems(req.rawQuery);
  if (spelling.length > 0) throw new InvalidRequestError(spelling); // 400: one spelling per URL
  const styled = splitStyle(req.path, deps.styleDelimiters ?? ['!'], (name) => deps.catalog.presets.has(name)); // 404 unknown style
  const key = parseKey(styled.path); // 400 on traversal, NUL, …
  const oss = styled.style === undefined ? readOss(query) : pathStyle(styled.style, query);
  const shape = infoShape(query, oss);
  if (shape) return { kind: 'info', key, shape };

  const { params, preset } = applyPreset(oss?.kind === 'transform' ? oss.params : query, deps.catalog.presets, deps.presetsOnly);
  const spec = deps.parseSpec(params); // 400 naming each bad parameter
  const watermark = chooseWatermark(spec, oss?.kind === 'transform' ? oss.watermark : undefined, deps.catalog, signed, deps.publicTextWatermark === true);
  return { kind: 'variant', key, spec, preset, watermark };
}

/** Checks `sig` (and `exp`) and removes them, so the rest of the flow sees only transform parameters. */
function acceptSignature(deps: RequestDeps, req: RawRequest, query: URLSearchParams): void {
  verifySignature(req.path, req.rawQuery, deps.signingKeys, Math.floor(Date.now() / 1000));
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
  return readOssProcess(values[0] ?? '');
}

/** `a.jpg!thumb` stands alone like `x-oss-process=style/thumb`: it is the preset, nothing added. */
function pathStyle(style: string, query: URLSearchParams): OssRequest {
  const others = [...new Set(query.keys())];
  if (others.length > 0) {
    throw new InvalidRequestError(others.map((param) => ({ param, message: `cannot be combined with a style in the path ("${style}")` })));
  }
  return { kind: 'transform', params: new URLSearchParams([['preset', style]]) };
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
