/**
 * S3's encoding of object keys in paths, apart from the request signing (`s3-request.ts`, which
 * loads aws4) so that the pre-renderer and the purge hook can name keys without loading it.
 */

/** S3's URI encoding of one path segment: RFC 3986 unreserved characters stay, all else is %XX (UTF-8). */
export function encodeS3Segment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `/`-separated object key → encoded path with `/` kept. */
export function encodeS3Key(key: string): string {
  return key.split('/').map(encodeS3Segment).join('/');
}
