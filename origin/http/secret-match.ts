/**
 * Compares a secret a client sent (a header value, a bearer token) with the accepted ones in time
 * that depends on neither. Both sides are hashed to 32 bytes first: `timingSafeEqual` needs equal
 * lengths, and checking lengths first would tell a prober how long the secret is. Every accepted
 * value is compared, so the time does not say which one matched either.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export function createSecretMatcher(accepted: readonly string[]): (given: string | undefined) => boolean {
  const digests = accepted.map(digest);
  return function matches(given) {
    if (given === undefined) return false;
    const candidate = digest(given);
    let match = false;
    for (const expected of digests) match = timingSafeEqual(candidate, expected) || match;
    return match;
  };
}
