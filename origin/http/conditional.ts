/**
 * Conditional GET (RFC 9110 §13): whether a client's cached copy is still current. Pure functions
 * over header values, so a 304 can be decided after a source stat, before any fetch or transform.
 */

/** `If-None-Match` matches when any listed tag equals ours under weak comparison, or it is `*`. */
export function matchesIfNoneMatch(header: string, etag: string): boolean {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const ours = opaque(etag);
  return header.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === ours);
}

export interface ConditionalHeaders {
  readonly ifNoneMatch?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
}

export function hasConditions(headers: ConditionalHeaders): boolean {
  return Boolean(headers.ifNoneMatch || headers.ifModifiedSince);
}

/** `If-None-Match` wins over `If-Modified-Since` when both are present (§13.2.2). */
export function isNotModified(headers: ConditionalHeaders, etag: string, lastModified: Date | undefined): boolean {
  if (headers.ifNoneMatch) return matchesIfNoneMatch(headers.ifNoneMatch, etag);
  if (headers.ifModifiedSince && lastModified) {
    const since = Date.parse(headers.ifModifiedSince);
    // HTTP dates have whole seconds; the source's time may carry milliseconds.
    return !Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
  }
  return false;
}
