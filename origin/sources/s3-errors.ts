/**
 * What an S3 error answer means for the origin. S3's status alone is ambiguous (403 is both
 * "no such key, and you may not list the bucket" and "your credentials are wrong"; 404 is both a
 * missing key and a missing bucket), so the decision is made on the `<Code>` of the XML error
 * body, read with a small bound. Missing keys become 404; everything that points at the operator's
 * settings (credentials, bucket, region, clock, a redirect to another region) becomes a 502
 * flagged as a configuration error; storage faults become a plain 502, marked as throttling when
 * the store asks for fewer requests (`SlowDown`, 503, 429, `Retry-After`). Messages name the bucket, never credentials.
 */
import type { Readable } from 'node:stream';
import { NotFoundError, SourceUnavailableError } from '../errors.js';
import { isThrottleStatus } from './retry-after.js';

/** S3 error documents are a few hundred bytes; a bound keeps a hostile endpoint from feeding us more. */
const ERROR_BODY_LIMIT = 8 * 1024;

/** Reads at most ERROR_BODY_LIMIT bytes and returns `<Code>`'s text, then drops the rest of the body. */
export async function readS3ErrorCode(body: Readable): Promise<string | undefined> {
  let text = '';
  try {
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      text += chunk.toString();
      if (text.length >= ERROR_BODY_LIMIT) break;
    }
  } catch {
    // A broken error body still leaves the status to decide on.
  } finally {
    if (!body.readableEnded) body.destroy();
  }
  return /<Code>\s*([A-Za-z0-9.]{1,64})\s*<\/Code>/.exec(text.slice(0, ERROR_BODY_LIMIT))?.[1];
}

/** Codes that mean "fix the settings": credentials, bucket name, region/endpoint, clock. */
const CONFIGURATION_CODES = new Set([
  'NoSuchBucket',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AuthorizationHeaderMalformed',
  'InvalidBucketName',
  'PermanentRedirect',
  'AccountProblem',
  'AllAccessDisabled',
  'RequestTimeTooSkewed',
  'InvalidSecurity',
  'NotSignedUp',
]);

/** Codes with which S3-compatible stores ask for fewer requests (AWS, MinIO, R2, OSS). */
const THROTTLE_CODES = new Set(['SlowDown', 'TooManyRequests', 'RequestLimitExceeded', 'Throttling', 'ServiceUnavailable']);

/**
 * The error for a non-success S3 answer. `what` describes the source (`s3://bucket/prefix`);
 * `retryAfterMs` is the answer's `Retry-After`, when it had one.
 */
export function s3Error(status: number, code: string | undefined, what: string, retryAfterMs?: number): Error {
  const label = code === undefined ? `${status}` : `${status} ${code}`;
  // S3 answers AccessDenied for a missing key when the caller may not list the bucket.
  if (code === 'NoSuchKey' || code === 'AccessDenied' || (status === 404 && code === undefined)) {
    return new NotFoundError();
  }
  // S3 never redirects a correct request: a 3xx (301 PermanentRedirect, 307 for a new bucket) means
  // the endpoint or region is wrong. HEAD answers carry no code, so the status decides alone.
  const redirected = status >= 300 && status < 400;
  if ((code !== undefined && CONFIGURATION_CODES.has(code)) || redirected || status === 400 || status === 401 || status === 403) {
    return new SourceUnavailableError(`${what} answered ${label}: check the bucket, region, endpoint and credentials`, {
      isConfigurationError: true,
      code: 'SOURCE_CONFIGURATION',
    });
  }
  if (status === 404) return new NotFoundError();
  const throttled = isThrottleStatus(status) || (code !== undefined && THROTTLE_CODES.has(code));
  return new SourceUnavailableError(`${what} answered ${label}`, { throttled, retryAfterMs });
}
