/**
 * Every header an image response carries, built in one pure function so 200 and 304 answers
 * cannot drift apart: a 304 sends the subset RFC 9110 §15.4.5 requires of it.
 */
import { MIME_TYPES } from '../../transforms/formats.js';
import type { OutputFormat } from '../../transforms/spec.js';

export interface Timings {
  /** Source fetch or stat, in milliseconds. */
  readonly sourceMs?: number;
  readonly transformMs?: number;
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
  return {
    'cache-control': input.cacheControl,
    etag: input.etag,
    ...(input.negotiated && { vary: 'Accept' }),
    ...(input.lastModified && { 'last-modified': input.lastModified.toUTCString() }),
    'x-content-type-options': 'nosniff',
    'server-timing': serverTiming(input.timings),
  };
}

export function imageHeaders(input: ResponseHeaderInput & { format: OutputFormat; contentLength: number }): HeaderMap {
  return {
    ...notModifiedHeaders(input),
    'content-type': MIME_TYPES[input.format],
    'content-length': String(input.contentLength),
  };
}

function serverTiming({ sourceMs, transformMs }: Timings): string {
  return [
    sourceMs !== undefined && `source;dur=${sourceMs.toFixed(1)}`,
    transformMs !== undefined && `transform;dur=${transformMs.toFixed(1)}`,
  ]
    .filter(Boolean)
    .join(', ');
}
