/**
 * Builds image URLs for apps: typed parameters in, a path (or full URL) out, parameters always in
 * one order so equal requests are equal strings for every CDN, signed when a key is given. The
 * options and their order come from the origin's parameter table; pure, so app servers can import
 * it on its own.
 */
import { DEFAULT_LIMITS, type TransformLimits } from '../transforms/limits.js';
import { createSpecParser, type SpecParser } from '../transforms/parse-spec.js';
import { PARAM_NAMES, spell, type RequestedSpec } from '../transforms/params.js';
import { encodeQueryComponent } from './request/query-spelling.js';
import { signPathAndQuery } from './signing.js';

export { DEFAULT_LIMITS, type TransformLimits };

/** Every transform parameter of the parameter table, typed as the origin reads it, plus `preset`. */
export type ImageParams = { readonly preset?: string } & RequestedSpec;

export interface ImageUrlOptions {
  /** Prepended to the path, e.g. `https://img.example.com`. */
  readonly baseUrl?: string;
  /** Signs the URL (see README: "Signed URLs"). */
  readonly signingKey?: string;
  /** Signed URLs only: when the URL stops working (Date or Unix seconds). */
  readonly expiresAt?: Date | number;
  /** The origin's limits (`ORIGIN_MAX_OUTPUT_DIMENSION`, …) the parameters are checked against; the defaults when absent. */
  readonly limits?: TransformLimits;
}

/** The order parameters are written in: `preset`, then the parameter table's (the variant key's) order. */
const PARAM_ORDER = ['preset', ...PARAM_NAMES] as const;

/** The origin's one spelling of the value, percent-encoded exactly where the origin expects it. */
function formatValue(value: NonNullable<ImageParams[keyof ImageParams]>): string {
  return encodeQueryComponent(spell(value));
}

const defaultParser = createSpecParser(DEFAULT_LIMITS);
const parsers = new WeakMap<TransformLimits, SpecParser>();

function parserFor(limits: TransformLimits | undefined): SpecParser {
  if (limits === undefined) return defaultParser;
  const known = parsers.get(limits);
  if (known) return known;
  const parse = createSpecParser(limits);
  parsers.set(limits, parse);
  return parse;
}

/**
 * Throws the InvalidRequestError the origin would answer 400 with (`w: must be at least 1`): the
 * values are read by the origin's own parser, from the parameter table's schemas, so the rules exist once.
 */
function checkParams(params: ImageParams, limits: TransformLimits | undefined): void {
  const { preset: _preset, ...spec } = params;
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(spec)) {
    if (value !== undefined) query.append(name, spell(value as Parameters<typeof spell>[0]));
  }
  parserFor(limits)(query);
}

export function buildImageUrl(key: string, params: ImageParams = {}, options: ImageUrlOptions = {}): string {
  checkParams(params, options.limits);
  const path = `/${key.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/')}`;
  const query: string[] = [];
  for (const name of PARAM_ORDER) {
    const value = params[name];
    if (value !== undefined) query.push(`${name}=${formatValue(value)}`);
  }
  if (options.expiresAt !== undefined) {
    if (!options.signingKey) throw new Error('expiresAt needs a signingKey: an unsigned exp would be refused');
    const seconds = options.expiresAt instanceof Date ? Math.floor(options.expiresAt.getTime() / 1000) : options.expiresAt;
    query.push(`exp=${seconds}`);
  }
  const unsigned = query.length > 0 ? `${path}?${query.join('&')}` : path;
  const signed = options.signingKey ? signPathAndQuery(unsigned, options.signingKey) : unsigned;
  return `${options.baseUrl?.replace(/\/+$/, '') ?? ''}${signed}`;
}

/** `srcset` for a list of widths (`640w`) or of densities (`2x`), each candidate its own (signed) URL. */
export function buildSrcset(
  key: string,
  params: ImageParams,
  candidates: { readonly widths: readonly number[] } | { readonly densities: readonly number[] },
  options: ImageUrlOptions = {},
): string {
  const entries =
    'widths' in candidates
      ? candidates.widths.map((w) => `${buildImageUrl(key, { ...params, w }, options)} ${w}w`)
      : candidates.densities.map((dpr) => `${buildImageUrl(key, { ...params, dpr }, options)} ${dpr}x`);
  return entries.join(', ');
}
