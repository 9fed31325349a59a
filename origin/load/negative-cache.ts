/**
 * Remembered storage faults: after a fetch or stat of a key fails (missing, storage error,
 * timeout, too large, not an image), the same failure answers every request for that key for a
 * short while, so a failing store sees one request per key per interval however many clients
 * ask, and a store that recovers is asked again within that interval. A store that asks for fewer
 * requests (S3 `SlowDown`, 429, 503, `Retry-After`) gets a jittered back-off instead: its
 * `Retry-After` when it sent one, else the negative TTL doubled with each consecutive throttle,
 * never shorter than the negative TTL and never longer than the cap. Caller aborts and the
 * origin's own overload are never remembered. Entries are bounded in number (least recently used
 * go first); a success forgets the key at once.
 */
import { LRUCache } from 'lru-cache';
import { UnsupportedFormatError } from '../../transforms/errors.js';
import { NotFoundError, SourceTimeoutError, SourceTooLargeError, SourceUnavailableError } from '../errors.js';

export interface NegativeCacheOptions {
  /** How long a plain fault is remembered, in ms; 0 remembers nothing. */
  readonly ttlMs: number;
  /** Longest back-off a throttling store gets, in ms (raised to `ttlMs` when lower). */
  readonly backoffMaxMs: number;
  /** Monotonic clock in ms; `performance.now` unless a test pins it. */
  readonly now?: () => number;
  /** In [0, 1): spreads back-offs so many processes do not return to the store in step. */
  readonly random?: () => number;
}

export interface NegativeCache {
  /** The fault remembered for `key` and still current, or undefined. */
  get(key: string): Error | undefined;
  /** Remembers `error` for `key` when it is a fault of the source (else does nothing). */
  remember(key: string, error: unknown): void;
  forget(key: string): void;
}

/** Keys remembered at most: a scan of missing keys must not grow memory without bound. */
const MAX_KEYS = 10_000;
/** Back-offs last up to this share longer than asked, never shorter. */
const JITTER = 0.2;

interface Entry {
  readonly error: Error;
  readonly until: number;
  /** Consecutive throttled answers for the key; 0 for a plain fault. */
  readonly throttles: number;
}

/** What the source said about the key, as opposed to the caller leaving or the origin being busy. */
function isSourceFault(error: unknown): error is Error {
  return (
    error instanceof NotFoundError ||
    error instanceof SourceUnavailableError ||
    error instanceof SourceTimeoutError ||
    error instanceof SourceTooLargeError ||
    error instanceof UnsupportedFormatError
  );
}

export function createNegativeCache(options: NegativeCacheOptions): NegativeCache {
  const { ttlMs } = options;
  const cap = Math.max(options.backoffMaxMs, ttlMs);
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  // Entries outlive their `until` (until evicted) so consecutive throttles can be counted.
  const entries = new LRUCache<string, Entry>({ max: MAX_KEYS });

  function backoffMs(error: SourceUnavailableError, throttles: number): number {
    const asked = error.retryAfterMs ?? ttlMs * 2 ** (throttles - 1);
    return Math.min(cap, Math.max(ttlMs, asked) * (1 + JITTER * random()));
  }

  return {
    get(key) {
      const entry = entries.get(key);
      return entry !== undefined && now() < entry.until ? entry.error : undefined;
    },
    remember(key, error) {
      if (ttlMs === 0 || !isSourceFault(error)) return;
      const at = now();
      if (!(error instanceof SourceUnavailableError && error.throttled)) {
        entries.set(key, { error, until: at + ttlMs, throttles: 0 });
        return;
      }
      const previous = entries.get(key);
      const consecutive = previous !== undefined && previous.throttles > 0 && at - previous.until <= cap;
      const throttles = consecutive ? previous.throttles + 1 : 1;
      entries.set(key, { error, until: at + backoffMs(error, throttles), throttles });
    },
    forget(key) {
      entries.delete(key);
    },
  };
}
