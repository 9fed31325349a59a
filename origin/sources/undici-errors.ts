/**
 * Translates what undici and Node's sockets throw into the origin's error classes, so every
 * network source answers the same way: connect, headers and body timeouts become 504
 * (SourceTimeoutError); resets, refused connections, DNS failures, TLS and protocol errors become
 * 502 (SourceUnavailableError); an address refused by the address guard becomes a 502 flagged as
 * a configuration error. Our own OriginErrors pass through, an abort requested by the caller stays
 * an abort, and errors that look like programming mistakes are rethrown untouched so they surface
 * as 500s instead of hiding behind a 502. The original error is always kept as `cause`.
 */
import { OriginError } from '../../transforms/errors.js';
import { SourceTimeoutError, SourceUnavailableError } from '../errors.js';
import { ADDRESS_REFUSED_CODE } from './address-guard.js';

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Codes that mean our code called undici wrongly: a bug, not an outage. */
const BUG_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_INVALID_RETURN_VALUE', 'UND_ERR_NOT_SUPPORTED']);

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Returns the error to throw for `error`, raised while talking to `what` (a description without
 * credentials, e.g. `http://images.example/base/`). When `signal` has fired, returns its reason:
 * the caller gave up, the storage did not fail.
 */
export function toSourceError(error: unknown, what: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason ?? error;
  if (error instanceof OriginError) return error;
  const code = codeOf(error);
  if (code === undefined || BUG_CODES.has(code) || code.startsWith('ERR_INVALID_ARG')) return error;
  if (TIMEOUT_CODES.has(code)) {
    return new SourceTimeoutError(`${what} did not answer in time (${code})`, { cause: error });
  }
  if (code === ADDRESS_REFUSED_CODE) {
    return new SourceUnavailableError(`${what}: ${(error as Error).message}`, {
      cause: error,
      isConfigurationError: true,
      code: 'SOURCE_ADDRESS_REFUSED',
    });
  }
  // Resets, refusals, DNS, TLS, parser and content-length errors: the storage is unreachable or broken.
  return new SourceUnavailableError(`${what} is unavailable (${code})`, { cause: error });
}

/**
 * Runs one storage operation of `what` under an overall time bound: connect, headers and the whole
 * body within `timeoutMs`, so a drip-fed body (each chunk just inside the body timeout) is cut
 * there as a 504 instead of holding a connection until the request's deadline. The operation gets
 * a signal that aborts on the caller's abort or on that bound; whatever it throws leaves as the
 * origin's source error.
 */
export async function asSourceError<T>(
  what: string,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  operation: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const bounded = new AbortController();
  const follow = () => bounded.abort(signal?.reason);
  if (signal?.aborted) follow();
  else signal?.addEventListener('abort', follow, { once: true });
  const timer = setTimeout(() => bounded.abort(new SourceTimeoutError(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
  timer.unref();
  try {
    return await operation(bounded.signal);
  } catch (error) {
    if (!signal?.aborted && bounded.signal.aborted) throw bounded.signal.reason;
    throw toSourceError(error, what, signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', follow);
  }
}
