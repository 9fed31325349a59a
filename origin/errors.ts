/**
 * The origin's own HTTP-mapped errors, beside the layer that raises them: URL signatures, sources
 * and load. They extend the transform layer's `OriginError`, so one handler answers them all.
 *
 * | class                    | status | when                                                         |
 * | ------------------------ | ------ | ------------------------------------------------------------ |
 * | AuthRequiredError        | 401/403| no metrics bearer token / no back-to-origin header (no-store)|
 * | ForbiddenError           | 403    | missing, wrong or expired URL signature                      |
 * | NotFoundError            | 404    | no such source object                                        |
 * | SourceTooLargeError      | 413    | source bytes above the configured maximum                    |
 * | SourceUnavailableError   | 502    | storage 5xx, resets, credential or bucket misconfiguration   |
 * | OverloadedError          | 503    | transform queue full or its wait budget spent (Retry-After)  |
 * | SourceTimeoutError       | 504    | storage too slow (connect, headers or body)                  |
 * | BlockedError             | 451    | the key was taken down (`POST /block` on the admin port)     |
 */
import { OriginError, RetryLaterError } from '../transforms/errors.js';

export class ForbiddenError extends OriginError {
  readonly status = 403;
  readonly code: string;
  constructor(code: 'SIGNATURE_REQUIRED' | 'INVALID_SIGNATURE' | 'SIGNATURE_EXPIRED', message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * A caller without the credentials this port asks for: the metrics bearer token (401) or the
 * back-to-origin header (403). Never cached: the answer depends on a request header, not on the
 * URL, so a cache keeping it would refuse the next caller who has the header.
 */
export class AuthRequiredError extends OriginError {
  readonly status: 401 | 403;
  readonly code: 'METRICS_AUTH_REQUIRED' | 'ORIGIN_AUTH_REQUIRED';
  constructor(code: 'METRICS_AUTH_REQUIRED' | 'ORIGIN_AUTH_REQUIRED', message: string) {
    super(message);
    this.code = code;
    this.status = code === 'METRICS_AUTH_REQUIRED' ? 401 : 403;
  }
}

export class NotFoundError extends OriginError {
  readonly status = 404;
  readonly code = 'NOT_FOUND';
  constructor(message = 'source image not found', cause?: unknown) {
    super(message, { cause });
  }
}

export class SourceTooLargeError extends OriginError {
  readonly status = 413;
  readonly code = 'SOURCE_TOO_LARGE';
  constructor(maxBytes: number) {
    super(`source image is larger than ${maxBytes} bytes`);
  }
}

export class SourceUnavailableError extends OriginError {
  readonly status = 502;
  readonly code: string;
  /**
   * True when the failure points at the operator's settings (bad credentials, missing bucket,
   * refused address) rather than a passing fault, so the log says which to fix.
   */
  readonly isConfigurationError: boolean;
  /**
   * True when the storage asked for less traffic (S3 `SlowDown`, 429, 503, a `Retry-After`): the
   * key is then left alone for a jittered back-off instead of the short negative TTL.
   */
  readonly throttled: boolean;
  /** How long the storage asked us to wait (its `Retry-After`), in milliseconds, when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    options: { cause?: unknown; isConfigurationError?: boolean; code?: string; throttled?: boolean; retryAfterMs?: number | undefined } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = options.code ?? 'SOURCE_UNAVAILABLE';
    this.isConfigurationError = options.isConfigurationError ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.throttled = (options.throttled ?? false) || options.retryAfterMs !== undefined;
  }
}

export class SourceTimeoutError extends OriginError {
  readonly status = 504;
  readonly code = 'SOURCE_TIMEOUT';
}

/** Too much work already: answered in milliseconds, before the source is touched, with Retry-After. */
export class OverloadedError extends RetryLaterError {
  readonly code = 'OVERLOADED';
}

/** A source key taken down by moderation (`POST /block`): refused fleet-wide, its original kept for audit. */
export class BlockedError extends OriginError {
  readonly status = 451;
  readonly code = 'BLOCKED';
  constructor(key: string) {
    super(`"${key}" is not available for legal or moderation reasons`);
  }
}
