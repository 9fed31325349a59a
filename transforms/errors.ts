/**
 * The few error classes the origin answers with. Each maps to one HTTP status and carries a stable
 * machine-readable `code`; the HTTP layer turns any of them into `{"error":{"code","message"}}`.
 * This module is the lowest layer: it imports nothing, so transforms, sources and the server share it.
 *
 * | class                    | status | when                                                         |
 * | ------------------------ | ------ | ------------------------------------------------------------ |
 * | InvalidRequestError      | 400    | bad parameters or key (each problem listed in `problems`)    |
 * | ForbiddenError           | 403    | missing, wrong or expired URL signature                      |
 * | NotFoundError            | 404    | no such source object, unknown preset                        |
 * | SourceTooLargeError      | 413    | source bytes above the configured maximum                    |
 * | UnsupportedFormatError   | 415    | source is not a format we decode (HEIC, JPEG XL, BMP, text…) |
 * | UnprocessableImageError  | 422    | corrupt/truncated image, pixel or frame limits, output limit |
 * | SourceUnavailableError   | 502    | storage 5xx, resets, credential or bucket misconfiguration   |
 * | OverloadedError          | 503    | transform queue full or its wait budget spent (Retry-After)  |
 * | SourceTimeoutError       | 504    | storage too slow (connect, headers or body)                  |
 * | InternalError            | 500    | a bug: never caused by client input                          |
 */

export interface Problem {
  /** The query parameter or part of the request the problem is about (`w`, `crop`, `key`, …). */
  readonly param: string;
  readonly message: string;
}

export abstract class OriginError extends Error {
  abstract readonly status: number;
  /** Stable SCREAMING_SNAKE identifier for clients, logs and metrics. */
  readonly code: string;
  /** Per-parameter problems (400 only). */
  readonly problems: readonly Problem[];

  constructor(code: string, message: string, options: { cause?: unknown; problems?: readonly Problem[] } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.problems = options.problems ?? [];
  }
}

export class InvalidRequestError extends OriginError {
  readonly status = 400;
  constructor(problems: readonly Problem[], code = 'INVALID_PARAMS') {
    super(code, problems.map((p) => `${p.param}: ${p.message}`).join('; '), { problems });
  }
}

export class ForbiddenError extends OriginError {
  readonly status = 403;
  constructor(code: 'SIGNATURE_REQUIRED' | 'INVALID_SIGNATURE' | 'SIGNATURE_EXPIRED', message: string) {
    super(code, message);
  }
}

export class NotFoundError extends OriginError {
  readonly status = 404;
  constructor(message = 'source image not found', code = 'NOT_FOUND', cause?: unknown) {
    super(code, message, { cause });
  }
}

export class SourceTooLargeError extends OriginError {
  readonly status = 413;
  constructor(maxBytes: number) {
    super('SOURCE_TOO_LARGE', `source image is larger than ${maxBytes} bytes`);
  }
}

export class UnsupportedFormatError extends OriginError {
  readonly status = 415;
  constructor(message: string, code = 'UNSUPPORTED_FORMAT') {
    super(code, message);
  }
}

export class UnprocessableImageError extends OriginError {
  readonly status = 422;
  constructor(code: 'UNREADABLE_IMAGE' | 'IMAGE_TOO_LARGE' | 'OUTPUT_TOO_LARGE', message: string, cause?: unknown) {
    super(code, message, { cause });
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

export class InternalError extends OriginError {
  readonly status = 500;
  constructor(message: string, cause?: unknown) {
    super('INTERNAL', message, { cause });
  }
}

/** Too much work already: answered in milliseconds, before the source is touched, with Retry-After. */
export class OverloadedError extends OriginError {
  readonly status = 503;
  /** Seconds a client (or CDN) should wait before retrying. */
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super('OVERLOADED', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
