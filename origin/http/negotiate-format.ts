/**
 * Reduces the raw `Accept` header to one token before it can influence anything, so the variant
 * key (and a CDN keyed on the token) sees three values instead of thousands of browser spellings.
 * Only an explicit `image/avif` or `image/webp` with a non-zero q counts: `image/*` is sent by
 * browsers that decode neither. A CDN that already computed the token (README: "CDN cache keys")
 * forwards it as `X-Image-Format-Token`, which then wins, so the CDN's key and the origin agree.
 */
import type { FormatToken } from '../../transforms/formats.js';

export function negotiateFormat(accept: string | undefined): FormatToken {
  if (!accept) return 'legacy';
  const accepted = new Set<string>();
  for (const entry of accept.toLowerCase().split(',')) {
    const [type = '', ...params] = entry.split(';').map((part) => part.trim());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    accepted.add(type);
  }
  if (accepted.has('image/avif')) return 'avif';
  if (accepted.has('image/webp')) return 'webp';
  return 'legacy';
}

export const FORMAT_TOKEN_HEADER = 'x-image-format-token';

const TOKENS: ReadonlySet<string> = new Set<FormatToken>(['avif', 'webp', 'legacy']);

export function formatToken(header: (name: string) => string | undefined): FormatToken {
  const forwarded = header(FORMAT_TOKEN_HEADER)?.trim().toLowerCase();
  return forwarded !== undefined && TOKENS.has(forwarded) ? (forwarded as FormatToken) : negotiateFormat(header('accept'));
}
