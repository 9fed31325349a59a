/**
 * The origin's own HTTP-mapped errors, beside the layer that raises them: URL signatures, sources
 * and load. They extend the transform layer's `OriginError`, so one handler answers them all.
 *
 * | class                    | status | when                                                         |
 * | ------------------------ | ------ | ------------------------------------------------------------ |
 * | ForbiddenError           | 403    | missing, wrong or expired URL signature                      |
 * | NotFoundError            | 404    | no such source object                                        |
 * | SourceTooLargeError      | 413    | source bytes above the configured maximum                    |
 * | SourceUnavailableError   | 502    | storage 5xx, resets, credential or bucket misconfiguration   |
 * | OverloadedError          | 503    | transform queue full or its wait budget spent (Retry-After)  |
 * | SourceTimeoutError       | 504    | storage too slow (connect, headers or body)                  |
 */
import { OriginError } from '../transforms/errors.js';

export class ForbiddenError extends OriginError {
  readonly status = 403;
  constructor(code: 'SIGNATURE_REQUIRED' | 'INVALID_SIGNATURE' | 'SIGNATURE_EXPIRED', message: string) {
    super(code, message);
  }
}

export class NotFoundError extends OriginError {
  readonly status = 404;
  constructor(message = 'source image not found', cause?: unknown) {
    super('NOT_FOUND', message, { cause });
  }
}

export class SourceTooLargeError extends OriginError {
  readonly status = 413;
  constructor(maxBytes: number) {
    super('SOURCE_TOO_LARGE', `source image is larger than ${maxBytes} bytes`);
  }
}

export class SourceUnavailableError extends OriginError {
  readonly status = 502;
  /**
   * True when the failure points at the operator's settings (bad credentials, missing bucket,
   * refused address) rather than a passing fault, so the log says which to fix.
   */
  readonly isConfigurationError: boolean;
  constructor(message: string, options: { cause?: unknown; isConfigurationError?: boolean; code?: string } = {}) {
    super(options.code ?? 'SOURCE_UNAVAILABLE', message, { cause: options.cause });
    this.isConfigurationError = options.isConfigurationError ?? false;
  }
}

export class SourceTimeoutError extends OriginError {
  readonly status = 504;
  constructor(message: string, cause?: unknown) {
    super('SOURCE_TIMEOUT', message, { cause });
  }
}

/** Too much work already: answered in milliseconds, before the source is touched, with Retry-After. */
export class OverloadedError extends OriginError {
  readonly status = 503;
  constructor(message: string, retryAfterSeconds = 1) {
    super('OVERLOADED', message, { retryAfterSeconds });
  }
}
