/**
 * One JSON shape for every error: `{"error":{"code","message","problems"?}}`. Client errors are
 * cacheable for a short while (a CDN then absorbs floods of bad URLs); server and storage errors
 * are `no-store`, so a passing outage is never kept, and so are refusals for missing credentials,
 * which depend on a request header rather than the URL.
 */
import { InternalError, InvalidRequestError, OriginError } from '../../transforms/errors.js';
import { AuthRequiredError } from '../errors.js';

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly problems?: readonly { param: string; message: string }[];
    /** How many problems beyond the listed ones there were. */
    readonly omittedProblems?: number;
  };
}

export interface ErrorResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: ErrorBody;
  /** The classified error, for the log line. */
  readonly error: OriginError;
}

/** Public wording for 5xx: storage endpoints and internals stay in the logs. */
const SERVER_MESSAGES: Readonly<Record<number, string>> = {
  500: 'internal error',
  503: 'the origin is busy: retry shortly',
  502: 'the image storage failed to answer correctly',
  504: 'the image storage did not answer in time',
};

/** Errors fastify raises itself (bad URL, unsupported method, …) carry a 4xx `statusCode`. */
interface FrameworkError {
  readonly statusCode?: number;
  readonly code?: string;
  readonly message?: string;
}

export function toErrorResponse(thrown: unknown, errorCacheControl: string): ErrorResponse {
  const error = classify(thrown);
  const cacheable = error.status < 500 && !(error instanceof AuthRequiredError);
  return {
    status: error.status,
    headers: {
      'cache-control': cacheable ? errorCacheControl : 'no-store',
      'x-content-type-options': 'nosniff',
      ...(error.retryAfterSeconds !== undefined && { 'retry-after': String(error.retryAfterSeconds) }),
    },
    body: {
      error: {
        code: error.code,
        message: SERVER_MESSAGES[error.status] ?? error.message,
        ...(error.problems.length > 0 && { problems: error.problems }),
        ...(error instanceof InvalidRequestError && error.omittedProblems > 0 && { omittedProblems: error.omittedProblems }),
      },
    },
    error,
  };
}

function classify(thrown: unknown): OriginError {
  if (thrown instanceof OriginError) return thrown;
  const framework = thrown as FrameworkError;
  if (typeof framework?.statusCode === 'number' && framework.statusCode >= 400 && framework.statusCode < 500) {
    return new FrameworkClientError(framework.statusCode, framework.code ?? 'BAD_REQUEST', framework.message ?? 'bad request');
  }
  return new InternalError('unexpected error', { cause: thrown });
}

class FrameworkClientError extends OriginError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
