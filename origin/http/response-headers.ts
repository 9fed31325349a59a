/**
 * Every header an image response carries, built in one pure function so 200 and 304 answers
 * cannot drift apart: a 304 sends the subset RFC 9110 §15.4.5 requires of it.
 */
import { MIME_TYPES } from '../../transforms/formats.js';
import type { OutputFormat } from '../../transforms/spec.js';

export interface Timings {
  /** Source fetch, in milliseconds. */
  readonly sourceMs?: number;
  readonly transformMs?: number;
  /** Served from the in-memory variant tier. */
  readonly cache?: 'hit';
}

export interface ResponseHeaderInput {
  readonly etag: string;
  readonly lastModified?: Date | undefined;
  readonly cacheControl: string;
  /** The format came from the `Accept` header, so caches must key on it. */
  readonly negotiated: boolean;
  readonly timings: Timings;
}

export type HeaderMap = Record<string, string>;

export function notModifiedHeaders(input: ResponseHeaderInput): HeaderMap {
  const timing = serverTiming(input.timings);
  return {
    'cache-control': input.cacheControl,
    etag: input.etag,
    ...(input.negotiated && { vary: 'Accept' }),
    ...(input.lastModified && { 'last-modified': input.lastModified.toUTCString() }),
    'x-content-type-options': 'nosniff',
    ...(timing !== '' && { 'server-timing': timing }),
  };
}

export function imageHeaders(input: ResponseHeaderInput & { format: OutputFormat; contentLength: number }): HeaderMap {
  return {
    ...notModifiedHeaders(input),
    'content-type': MIME_TYPES[input.format],
    'content-length': String(input.contentLength),
  };
}

function serverTiming({ sourceMs, transformMs, cache }: Timings): string {
  return [
    cache && `cache;desc=${cache}`,
    sourceMs !== undefined && `source;dur=${sourceMs.toFixed(1)}`,
    transformMs !== undefined && `transform;dur=${transformMs.toFixed(1)}`,
  ]
    .filter(Boolean)
    .join(', ');
}
