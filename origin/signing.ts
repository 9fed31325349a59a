/**
 * Signed URLs. The signature is `sig`: base64url (no padding) of HMAC-SHA256, keyed with one of
 * `ORIGIN_SIGNING_KEYS`, over the request path and query exactly as sent (still percent-encoded),
 * with the `sig` parameter removed and the rest kept in order: `/photos/a.jpg?w=400&exp=1767225600`.
 * Without other parameters the payload is the path alone. An optional `exp` (Unix seconds) is
 * covered like any parameter and refused once past. Any configured key may match, so keys rotate
 * without downtime: add the new one, move apps to it, drop the old one.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ForbiddenError } from './errors.js';

/** The string that is signed: path plus the query without the `sig` parameter, everything else as written. */
export function signaturePayload(rawPath: string, rawQuery: string): string {
  const kept = rawQuery === '' ? [] : rawQuery.split('&').filter((pair) => !isSignature(pair));
  return kept.length > 0 ? `${rawPath}?${kept.join('&')}` : rawPath;
}

const isSignature = (pair: string) => pair === 'sig' || pair.startsWith('sig=');

export function computeSignature(payload: string, key: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

/** Appends `sig` to a path-and-query (which may already carry `exp`). */
export function signPathAndQuery(pathAndQuery: string, key: string): string {
  const at = pathAndQuery.indexOf('?');
  const [path, query] = at === -1 ? [pathAndQuery, ''] : [pathAndQuery.slice(0, at), pathAndQuery.slice(at + 1)];
  const payload = signaturePayload(path, query);
  return `${payload}${payload.includes('?') ? '&' : '?'}sig=${computeSignature(payload, key)}`;
}

/**
 * Throws ForbiddenError (403) unless the URL carries exactly one `sig`, as its last parameter,
 * spelled exactly as `computeSignature` writes it (base64url, no padding, no percent-encoding),
 * over the rest of the URL exactly as sent; and `exp`, if any, is not past. Any other spelling of
 * a valid signature would be another CDN cache key for the same image, so it is refused too.
 */
export function verifySignature(rawPath: string, rawQuery: string, keys: readonly string[], nowSeconds: number): void {
  const pairs = rawQuery === '' ? [] : rawQuery.split('&');
  const signatures = pairs.filter(isSignature);
  if (signatures.length === 0) throw new ForbiddenError('SIGNATURE_REQUIRED', 'this origin only serves signed URLs: sig is missing');
  const last = pairs[pairs.length - 1] ?? '';
  const given = Buffer.from(last.slice('sig='.length));
  const payload = signaturePayload(rawPath, pairs.slice(0, -1).join('&'));
  const matches = keys.some((key) => {
    const expected = Buffer.from(computeSignature(payload, key));
    // timingSafeEqual needs equal lengths; a length mismatch is a mismatch, and says nothing about the key.
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (signatures.length !== 1 || !isSignature(last) || !matches) throw new ForbiddenError('INVALID_SIGNATURE', 'the URL signature does not match');
  const exp = new URLSearchParams(rawQuery).get('exp');
  if (exp !== null && !(/^\d{1,12}$/.test(exp) && Number(exp) > nowSeconds)) {
    throw new ForbiddenError('SIGNATURE_EXPIRED', 'the signed URL has expired');
  }
}
