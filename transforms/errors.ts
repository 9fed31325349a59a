/**
 * The error classes of the transform layer, and the base every HTTP-mapped error of the origin
 * extends. Each maps to one HTTP status and carries a stable machine-readable `code`; the HTTP
 * layer turns any `OriginError` into `{"error":{"code","message"}}`. This module imports nothing.
 * The origin's own errors (signatures, sources, load) live in `origin/errors.ts`.
 *
 * | class                    | status | when                                                         |
 * | ------------------------ | ------ | ------------------------------------------------------------ |
 * | InvalidRequestError      | 400    | bad parameters or key (each problem listed in `problems`)    |
 * | UnsupportedFormatError   | 415    | source is not a format we decode (HEIC, JPEG XL, BMP, text…) |
 * | UnprocessableImageError  | 422    | corrupt/truncated image, pixel or frame limits, output limit |
 * | InternalError            | 500    | a bug: never caused by client input                          |
 * | TransformTimeoutError    | 503    | the image used up its time budget (Retry-After, no-store)    |
 *
 * `RetryLaterError` is the base of every 503: Retry-After: 1, never cached.
 */

export interface Problem {
  /** The query parameter or part of the request the problem is about (`w`, `crop`, `key`, …). */
  readonly param: string;
  readonly message: string;
}

export interface OriginErrorOptions {
  readonly cause?: unknown;
  readonly problems?: readonly Problem[];
  /** Seconds a client (or CDN) should wait before retrying; sent as Retry-After. */
  readonly retryAfterSeconds?: number;
}

export abstract class OriginError extends Error {
  abstract readonly status: number;
  /** Stable SCREAMING_SNAKE identifier for clients, logs and metrics. */
  abstract readonly code: string;
  /** Per-parameter problems (400 only). */
  readonly problems: readonly Problem[];
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options: OriginErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.problems = options.problems ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Problems listed in one answer: a query of 1,500 unknown parameters must not make a 100 KB error. */
export const MAX_LISTED_PROBLEMS = 20;

export class InvalidRequestError extends OriginError {
  readonly status = 400;
  readonly code: string;
  /** Problems beyond the first `MAX_LISTED_PROBLEMS`, counted but not listed. */
  readonly omittedProblems: number;
  constructor(problems: readonly Problem[], code = 'INVALID_PARAMS') {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS);
    const omitted = problems.length - listed.length;
    const more = omitted > 0 ? `; and ${omitted} more` : '';
    super(`${listed.map((p) => `${p.param}: ${p.message}`).join('; ')}${more}`, { problems: listed });
    this.code = code;
    this.omittedProblems = omitted;
  }
}

export class UnsupportedFormatError extends OriginError {
  readonly status = 415;
  readonly code: string;
  constructor(message: string, code = 'UNSUPPORTED_FORMAT') {
    super(message);
    this.code = code;
  }
}

export class UnprocessableImageError extends OriginError {
  readonly status = 422;
  readonly code: string;
  constructor(code: 'UNREADABLE_IMAGE' | 'IMAGE_TOO_LARGE' | 'OUTPUT_TOO_LARGE', message: string, cause?: unknown) {
    super(message, { cause });
    this.code = code;
  }
}

export class InternalError extends OriginError {
  readonly status = 500;
  readonly code = 'INTERNAL';
}

/** A 503 a client (or CDN) should retry after a second; never cached. */
export abstract class RetryLaterError extends OriginError {
  readonly status = 503;
  override readonly retryAfterSeconds = 1;
}

/** The time budget ran out: as likely a starved CPU as a heavy image, so it is retried, never cached. */
export class TransformTimeoutError extends RetryLaterError {
  readonly code = 'TRANSFORM_TIMEOUT';
}
