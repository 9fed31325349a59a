/**
 * Reads a storage's `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. The value is
 * only a request: the negative cache caps how long it is honoured (`ORIGIN_SOURCE_BACKOFF_MAX_MS`),
 * so a storage that asks for an hour cannot park a key for an hour.
 */
import type { HeaderValue } from './read-body.js';

/** Milliseconds to wait, or `undefined` when the header is absent or unreadable. */
export function parseRetryAfter(header: HeaderValue, now: number = Date.now()): number | undefined {
  const value = (typeof header === 'string' ? header : header?.[0])?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d{1,9}$/.test(value)) return Number(value) * 1000;
  // Every HTTP-date form starts with a day name; Date.parse alone would read "1.5" as a date.
  if (!/^[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Statuses with which a storage says "too many requests": back off rather than retry. */
export function isThrottleStatus(status: number): boolean {
  return status === 429 || status === 503;
}
